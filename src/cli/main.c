/* placeholder until the subcommand table lands */
int main(void)
{
    return 0;
}
