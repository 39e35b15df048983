-- wrk_report.lua: wrk's summary as one JSON line on stdout, for bench/l4_e2e.sh.
-- Latencies are wrk's own histogram, in microseconds. "errors" are wrk's socket errors
-- (connect, read, write, timeout) and "status" the non-2xx/3xx answers: a run with any
-- of them is reported by the script, and one with no completed request fails it.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
		'"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, ' ..
		'"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(99), latency.max))
end
