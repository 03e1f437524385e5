-- wrk script for bench/gateway.sh: replays requests pre-signed by authwire-presign, each
-- once, split between wrk's threads. Past the end it wraps around, and the gateway refuses
-- the replays (counted by wrk as non-2xx, which bench/gateway.sh treats as a failed run).
local counter = 0
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end

local reqs = {}
local idx = 0
function init(args)
    local nthreads = tonumber(os.getenv("AW_WRK_THREADS") or "1")
    local f = assert(io.open(os.getenv("AW_PRESIGNED"), "rb"))
    local data = f:read("*a")
    f:close()
    local i = 0
    for r in data:gmatch("([^%z]+)%z") do
        if i % nthreads == tid then
            reqs[#reqs + 1] = r
        end
        i = i + 1
    end
end

function request()
    idx = idx + 1
    if idx > #reqs then
        idx = 1
    end
    return reqs[idx]
end
