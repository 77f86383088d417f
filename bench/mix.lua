-- mix.lua - wrk script of `make bench`: GET one municipality's items in
-- turn, every Nth request a PATCH of one of them (with the token), and
-- optionally every Mth request a GET of a list.  Counts the answers by
-- status and prints them in done() as "status CODE: N" lines, and the
-- requests sent as "sent METHOD: N" (bench/bench.py reads them).
--
--   wrk -s bench/mix.lua URL -- ITEM_BASE TOKEN ID,ID,... [PATCH_EVERY [LIST_PATH LIST_EVERY]]
--
-- ITEM_BASE is a path such as /api/v1/lejre/partnerships; PATCH_EVERY 10
-- gives the 90/10 write mix, 0 no writes.  A PATCH changes partner.region
-- to a new value each time (a real write: version + 1, an audit row).

local threads = {}
local nthreads = 0

-- (in the main state) each thread gets its number as the global thread_id
function setup(thread)
	nthreads = nthreads + 1
	thread:set("thread_id", nthreads)
	table.insert(threads, thread)
end

local base, token, ids, patch_every, list_path, list_every
local n = 0
counts = {}
sent = {}

function init(args)
	base = args[1]
	token = args[2]
	ids = {}
	for id in string.gmatch(args[3] or "", "%d+") do
		ids[#ids + 1] = id
	end
	patch_every = tonumber(args[4] or "10")
	list_path = args[5]
	list_every = tonumber(args[6] or "0")
	n = (thread_id or 1) * 7 -- threads start on different items
end

local function count(t, k)
	t[k] = (t[k] or 0) + 1
end

function request()
	n = n + 1
	local id = ids[(n % #ids) + 1]
	if patch_every > 0 and n % patch_every == 0 then
		count(sent, "PATCH")
		local body = string.format('{"partner":{"region":"Bench region %d-%d"}}', thread_id or 0, n)
		return wrk.format("PATCH", base .. "/" .. id, {
			["Authorization"] = "Bearer " .. token,
			["Content-Type"] = "application/json",
		}, body)
	end
	if list_every > 0 and n % list_every == 1 then
		count(sent, "GET-list")
		return wrk.format("GET", list_path)
	end
	count(sent, "GET")
	return wrk.format("GET", base .. "/" .. id)
end

function response(status, headers, body)
	count(counts, tostring(status))
end

function done(summary, latency, requests)
	local total, total_sent = {}, {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("counts") or {}) do
			total[k] = (total[k] or 0) + v
		end
		for k, v in pairs(t:get("sent") or {}) do
			total_sent[k] = (total_sent[k] or 0) + v
		end
	end
	for k, v in pairs(total) do
		io.write(string.format("status %s: %d\n", k, v))
	end
	for k, v in pairs(total_sent) do
		io.write(string.format("sent %s: %d\n", k, v))
	end
end
