-- s3_get.lua — wrk script for bench/s3_bench.sh: plain GETs of the URL given on
-- the command line (no per-response Lua, so wrk's own cost is what it is without a
-- script), and at the end one machine-readable line the bench script parses:
--   S3BENCH requests=N seconds=S rps=R p50_us=A p99_us=B non2xx=C sockerr=D
-- Throughput is computed by the caller as requests * object size / seconds (wrk's
-- own byte count includes the response headers).
done = function(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        "S3BENCH requests=%d seconds=%.3f rps=%.2f p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
        summary.requests, secs, summary.requests / secs,
        latency:percentile(50), latency:percentile(99),
        e.status, e.connect + e.read + e.write + e.timeout))
end
