// contract.mjs - contract tests of the portal's JSON API, driven by the
// OpenAPI document the server serves (GET /api/v1/openapi.json): every
// answer below is validated against the schema the document gives for its
// operation, status and content type (Ajv, JSON Schema 2020-12, with the
// whole document added as the schema "openapi.json" so that its
// "#/components/..." references resolve).
//
//   core      GET /healthz, /api/v1/municipalities, /api/v1/openapi.json,
//             /metrics; open data: /api/v1/catalog.jsonld, /api/v1/{m}/changes
//             (every municipality, anonymous and with a token, a second
//             page, 410 and 422) and every /api/v1/all/{module} (a second page)
//   reads     for every module path in the document and every municipality
//             enabling the module: each GET path without an {id} (the list,
//             exports), the first item of the list, an unknown id (404), a
//             second page (limit=1 and its cursor), each documented list
//             filter with a value its schema allows, and the module in a
//             municipality that does not enable it (404)
//   writes    in a scratch municipality (svenljunga, else herrljunga): POST
//             the requestBody example (201), GET it, PATCH with the PATCH
//             example (200), an invalid POST and PATCH (422: an unknown
//             member), DELETE (204), GET again (404)
//
// Environment: PORTAL_URL (default http://127.0.0.1:8080), PORTAL_ADMIN_TOKEN
// (an admin token for every municipality; without one the writes are
// skipped).  Output: one TAP line per validation, "ok N - METHOD URL -> STATUS
// ..."; a failure is followed by "#" lines (Ajv's errors, the body).  Exit
// status 1 when anything failed.
//
// Run by tests/integration/test_contract.sh; needs node >= 18 (fetch) and
// `npm ci --prefix tests/contract` (scripts/deps.sh).

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const BASE = (process.env.PORTAL_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const TOKEN = process.env.PORTAL_ADMIN_TOKEN || "";
const PREFIX = "/api/v1/{municipality}";
const SCRATCH = ["svenljunga", "herrljunga"];
const UNKNOWN_ID = "999999999";
const BAD_MEMBER = "contract_test_unknown_member";
// paths under a municipality that are the core's, not a module's
const CORE_MUNI = new Set([PREFIX + "/changes", PREFIX + "/search"]);
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

let n = 0;
let failed = 0;

function diag(text) {
	for (const line of String(text).split("\n"))
		console.log("#   " + line);
}

function tap(ok, desc, lines = []) {
	n++;
	if (!ok)
		failed++;
	console.log(`${ok ? "ok" : "not ok"} ${n} - ${desc}`);
	if (!ok)
		for (const l of lines)
			diag(l);
}

function skip(desc, why) {
	n++;
	console.log(`ok ${n} - ${desc} # SKIP ${why}`);
}

// ---------------------------------------------------------------- HTTP

async function http(method, path, { body, token, headers = {}, query } = {}) {
	let url = BASE + path;
	if (query && Object.keys(query).length)
		url += "?" + new URLSearchParams(query).toString();
	const h = { ...headers };
	if (token)
		h.Authorization = "Bearer " + token;
	let data;
	if (body !== undefined) {
		data = JSON.stringify(body);
		h["Content-Type"] = h["Content-Type"] || "application/json";
	}
	const res = await fetch(url, { method, headers: h, body: data, redirect: "manual" });
	const text = await res.text();
	const ctype = (res.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
	let json;
	let jsonError;
	if (text.length && /json/.test(ctype)) {
		try {
			json = JSON.parse(text);
		} catch (e) {
			jsonError = e.message;
		}
	}
	return { method, path: url.slice(BASE.length), status: res.status, headers: res.headers, ctype, text, json, jsonError };
}

function excerpt(res) {
	const t = res.text.length > 1200 ? res.text.slice(0, 1200) + ` ... (${res.text.length} bytes)` : res.text;
	return `body (${res.ctype || "no content type"}): ${t}`;
}

// ---------------------------------------------------------------- the document

let doc;
let ajv;
const validators = new Map();

function pointerOf(...segs) {
	return "/" + segs.map((s) => encodeURIComponent(String(s).replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");
}

function resolve(ref) {
	if (typeof ref !== "string" || !ref.startsWith("#/"))
		return undefined;
	let node = doc;
	for (const raw of ref.slice(2).split("/")) {
		const seg = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
		if (node === null || typeof node !== "object" || !(seg in node))
			return undefined;
		node = node[seg];
	}
	return node;
}

// Follows $refs of non-schema objects (responses, parameters, request
// bodies); returns [object, its JSON pointer].
function deref(node, pointer) {
	for (let i = 0; i < 20 && node && typeof node === "object" && typeof node.$ref === "string"; i++) {
		pointer = node.$ref.slice(1);
		node = resolve(node.$ref);
	}
	return [node, pointer];
}

function validator(pointer) {
	if (!validators.has(pointer))
		validators.set(pointer, ajv.compile({ $ref: "openapi.json#" + pointer }));
	return validators.get(pointer);
}

// The response object for `status` of an operation, and its pointer.
function responseFor(op, opPointer, status) {
	const rs = op.responses || {};
	for (const key of [String(status), `${String(status)[0]}XX`, "default"])
		if (key in rs)
			return deref(rs[key], opPointer + pointerOf("responses", key));
	return [undefined, undefined];
}

function opOf(template, method) {
	const item = doc.paths[template];
	const op = item && item[method.toLowerCase()];
	return op ? [op, pointerOf("paths", template, method.toLowerCase())] : [undefined, undefined];
}

// Validates `res` against the document's answer for (template, method):
// the status must be described (and be one of `want`, when given), its
// content type too, and the body must match the schema.  One TAP line.
function validate(res, template, method, want, note = "") {
	const [op, opPointer] = opOf(template, method);
	const what = `${method} ${res.path} -> ${res.status}${note ? " (" + note + ")" : ""}`;
	const errs = [];
	if (!op) {
		tap(false, what, [`the document describes no ${method} ${template}`, excerpt(res)]);
		return false;
	}
	const opName = op.operationId || `${method} ${template}`;
	if (want && !want.includes(res.status))
		errs.push(`expected status ${want.join(" or ")}`);
	const [resp, respPointer] = responseFor(op, opPointer, res.status);
	if (!resp) {
		errs.push(`status ${res.status} is not described for ${opName} (it describes ${Object.keys(op.responses || {}).join(", ")})`);
	} else {
		const content = resp.content || {};
		const types = Object.keys(content);
		if (!types.length) {
			if (res.text.length)
				errs.push(`${opName} ${res.status} describes no body, but one came`);
		} else if (!res.text.length && res.status !== 304) {
			errs.push(`${opName} ${res.status} describes a body (${types.join(", ")}), none came`);
		} else if (!(res.ctype in content)) {
			errs.push(`content type ${res.ctype || "(none)"} is not described for ${opName} ${res.status} (${types.join(", ")})`);
		} else if (res.jsonError) {
			errs.push(`the body is not JSON: ${res.jsonError}`);
		} else if (content[res.ctype].schema !== undefined) {
			const v = validator(respPointer + pointerOf("content", res.ctype, "schema"));
			const value = /json/.test(res.ctype) ? res.json : res.text;
			if (!v(value))
				for (const e of v.errors)
					errs.push(`schema: ${e.instancePath || "(the body)"} ${e.message}` +
						(e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "") +
						` [${e.schemaPath}]`);
		}
		for (const [name, hdr] of Object.entries(resp.headers || {})) {
			const [h] = deref(hdr);
			if (h && h.required && res.headers.get(name) === null)
				errs.push(`the required header ${name} is missing`);
		}
	}
	if (errs.length)
		errs.push(excerpt(res));
	tap(!errs.length, `${what} matches ${opName}`, errs);
	return !errs.length;
}

// ---------------------------------------------------------------- helpers

function concrete(template, slug, id) {
	return template.replace("{municipality}", slug).replace("{id}", id === undefined ? "1" : String(id));
}

// the core's own resources of a municipality (checked by core())

function moduleOf(template) {
	if (!template.startsWith(PREFIX + "/") || CORE_MUNI.has(template))
		return null;
	return template.slice(PREFIX.length + 1).split("/")[0].split(".")[0];
}

function pathParams(template) {
	return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

function jsonExample(media) {
	if (!media)
		return undefined;
	if (media.example !== undefined)
		return media.example;
	for (const ex of Object.values(media.examples || {})) {
		const [e] = deref(ex);
		if (e && e.value !== undefined)
			return e.value;
	}
	return undefined;
}

function requestExample(op) {
	const [body] = deref(op && op.requestBody);
	const content = (body && body.content) || {};
	return jsonExample(content["application/json"]);
}

// A value to try for a query parameter: its example, the member of the
// same name of an item of the list (so that the filter finds something),
// or one its schema allows; undefined when there is none.
function sampleFor(param, item) {
	let [schema] = deref(param.schema);
	if (!schema)
		return undefined;
	if (param.example !== undefined)
		return String(param.example);
	if (item && (typeof item[param.name] === "string" || typeof item[param.name] === "number"))
		return String(item[param.name]);
	for (const k of ["anyOf", "oneOf"])
		if (Array.isArray(schema[k]))
			[schema] = deref(schema[k].find((s) => !(s && s.type === "null")) || schema[k][0]);
	if (!schema)
		return undefined;
	if (schema.example !== undefined)
		return String(schema.example);
	if (Array.isArray(schema.examples) && schema.examples.length)
		return String(schema.examples[0]);
	if (Array.isArray(schema.enum) && schema.enum.length)
		return String(schema.enum[0]);
	if (schema.const !== undefined)
		return String(schema.const);
	if (schema.default !== undefined)
		return String(schema.default);
	const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
	if (schema.format === "date")
		return "2020-01-01";
	if (schema.format === "date-time")
		return "2020-01-01T00:00:00Z";
	if (typeof schema.pattern === "string" && schema.pattern.startsWith("^[0-9]{4}"))
		return "2020";
	if (schema.pattern === "^[A-Z]{2}$")
		return "SE";
	if (typeof schema.pattern === "string" && schema.pattern.startsWith("^[a-z]{2,3}"))
		return "sv"; // a BCP 47 language tag
	if (type === "integer" || type === "number")
		return String(Math.max(1, schema.minimum || 1));
	if (type === "boolean")
		return "true";
	return undefined;
}

// ---------------------------------------------------------------- the checks

async function core() {
	for (const path of ["/healthz", "/api/v1/municipalities", "/api/v1/openapi.json", "/metrics"]) {
		if (!doc.paths[path]) {
			tap(false, `GET ${path} is described`, ["the document has no such path"]);
			continue;
		}
		validate(await http("GET", path), path, "GET", [200]);
	}
	// the search across modules: results, a second page, its 422s
	const search = PREFIX + "/search";
	if (!doc.paths[search]) {
		tap(false, `GET ${search} is described`, ["the document has no such path"]);
	} else {
		const first = await http("GET", "/api/v1/borlange/search", { query: { q: "borlange", limit: "2" } });
		validate(first, search, "GET", [200], "results");
		if (first.json && first.json.next)
			validate(await http("GET", "/api/v1/borlange/search", { query: { q: "borlange", limit: "2", cursor: first.json.next } }),
				search, "GET", [200], "the next page");
		validate(await http("GET", "/api/v1/borlange/search"), search, "GET", [422], "no q");
		validate(await http("GET", "/api/v1/borlange/search", { query: { q: "x".repeat(201) } }), search, "GET", [422], "q too long");
		validate(await http("GET", "/api/v1/nosuchplace/search", { query: { q: "x" } }), search, "GET", [404], "unknown municipality");
	}
	// the audit log: an admin's, and refused without a token
	const audit = PREFIX + "/audit";
	if (!doc.paths[audit]) {
		tap(false, `GET ${audit} is described`, ["the document has no such path"]);
		return;
	}
	validate(await http("GET", concrete(audit, "borlange")), audit, "GET", [401], "without a token");
	if (!TOKEN) {
		skip(`GET ${audit}`, "no PORTAL_ADMIN_TOKEN");
		return;
	}
	const page = await http("GET", concrete(audit, "borlange"), { token: TOKEN, query: { limit: "2" } });
	validate(page, audit, "GET", [200], "limit=2");
	if (page.json && typeof page.json.next === "string")
		validate(await http("GET", concrete(audit, "borlange"), { token: TOKEN, query: { limit: "2", cursor: page.json.next } }),
			audit, "GET", [200], "its next page");
	validate(await http("GET", concrete(audit, "borlange"), { token: TOKEN, query: { action: "update", module: "partnerships" } }),
		audit, "GET", [200], "action=update&module=partnerships");
	validate(await http("GET", concrete(audit, "borlange"), { token: TOKEN, query: { action: "rename" } }),
		audit, "GET", [422], "action=rename");
}

async function opendata(munis) {
	const cat = "/api/v1/catalog.jsonld";
	if (doc.paths[cat])
		validate(await http("GET", cat), cat, "GET", [200]);
	else
		tap(false, `GET ${cat} is described`, ["the document has no such path"]);
	const ch = PREFIX + "/changes";
	if (!doc.paths[ch]) {
		tap(false, `GET ${ch} is described`, ["the document has no such path"]);
	} else {
		for (const m of munis) {
			const res = await http("GET", concrete(ch, m.slug), { query: { limit: "2" } });
			validate(res, ch, "GET", [200]);
			if (TOKEN)
				validate(await http("GET", concrete(ch, m.slug), { token: TOKEN }), ch, "GET", [200], "with a token");
			if (res.json && typeof res.json.next === "string")
				validate(await http("GET", concrete(ch, m.slug), { query: { limit: "2", cursor: res.json.next } }),
					ch, "GET", [200], "its next page");
		}
		const slug = munis.length ? munis[0].slug : "borlange";
		validate(await http("GET", concrete(ch, slug), { query: { since: "2000-01-01" } }), ch, "GET", [410], "since before the retention");
		validate(await http("GET", concrete(ch, slug), { query: { since: "soon" } }), ch, "GET", [422], "since not a time");
	}
	for (const t of Object.keys(doc.paths).filter((p) => /^\/api\/v1\/all\/[a-z0-9_]+$/.test(p)).sort()) {
		const res = await http("GET", t, { query: { limit: "1" } });
		validate(res, t, "GET", [200], "limit=1");
		if (res.json && typeof res.json.next === "string")
			validate(await http("GET", t, { query: { limit: "1", cursor: res.json.next } }), t, "GET", [200], "its next page");
	}
}

// The list, the first item, an unknown id, a second page, the filters and
// the module where it is not enabled.
async function reads(module, templates, munis) {
	const collection = PREFIX + "/" + module;
	const itemPath = templates.find((t) => t === collection + "/{id}");
	const enabled = munis.filter((m) => (m.modules || []).includes(module));
	const disabled = munis.filter((m) => !(m.modules || []).includes(module));
	let filterSlug;
	let sample;

	for (const m of enabled) {
		// every GET path with no path parameter but the municipality, as an
		// anonymous caller and with a token (drafts, non-public items)
		for (const t of templates) {
			if (!opOf(t, "GET")[0] || pathParams(t).some((p) => p !== "municipality"))
				continue;
			const res = await http("GET", concrete(t, m.slug));
			validate(res, t, "GET", [200]);
			if (TOKEN)
				validate(await http("GET", concrete(t, m.slug), { token: TOKEN }), t, "GET", [200], "with a token");
			if (t !== collection || res.status !== 200 || !res.json || !Array.isArray(res.json.items))
				continue;
			if (res.json.items.length > 1 && !filterSlug) {
				filterSlug = m.slug;
				sample = res.json.items[0];
			}
			const first = res.json.items[0];
			if (itemPath && first && first.id !== undefined)
				validate(await http("GET", concrete(itemPath, m.slug, first.id)), itemPath, "GET", [200], "its first item");
		}
		if (itemPath)
			validate(await http("GET", concrete(itemPath, m.slug, UNKNOWN_ID)), itemPath, "GET", [404], "unknown id");
	}

	const [listOp] = opOf(collection, "GET");
	if (listOp && filterSlug) {
		const page = await http("GET", concrete(collection, filterSlug), { query: { limit: "1" } });
		validate(page, collection, "GET", [200], "limit=1");
		const next = page.json && page.json.next;
		if (typeof next === "string")
			validate(await http("GET", concrete(collection, filterSlug), { query: { limit: "1", cursor: next } }),
				collection, "GET", [200], "its next page");
		else
			tap(false, `GET ${concrete(collection, filterSlug)}?limit=1 gives a next cursor`, [excerpt(page)]);
	}
	if (listOp && enabled.length) {
		const slug = filterSlug || enabled[0].slug;
		const params = [...(doc.paths[collection].parameters || []), ...(listOp.parameters || [])];
		for (const raw of params) {
			const [p] = deref(raw);
			if (!p || p.in !== "query" || ["limit", "cursor"].includes(p.name))
				continue;
			const value = p.name === "q" ? "a" : sampleFor(p, sample);
			if (value === undefined) {
				diag(`no value to try for ${module}'s filter ${p.name}`);
				continue;
			}
			validate(await http("GET", concrete(collection, slug), { query: { [p.name]: value } }),
				collection, "GET", [200], `${p.name}=${value}`);
		}
	}
	if (listOp && disabled.length)
		validate(await http("GET", concrete(collection, disabled[0].slug)), collection, "GET", [404],
			`${disabled[0].slug} does not enable ${module}`);
}

async function writes(module, munis) {
	const collection = PREFIX + "/" + module;
	const itemPath = collection + "/{id}";
	const [post] = opOf(collection, "POST");
	const [patch] = opOf(itemPath, "PATCH");
	if (!post)
		return;
	const scratch = SCRATCH.find((s) => munis.some((m) => m.slug === s && (m.modules || []).includes(module)));
	if (!scratch) {
		skip(`POST ${collection}`, `neither ${SCRATCH.join(" nor ")} enables ${module}`);
		return;
	}
	if (!TOKEN) {
		skip(`POST ${collection}`, "no PORTAL_ADMIN_TOKEN");
		return;
	}
	const example = requestExample(post);
	if (example === undefined) {
		tap(false, `POST ${collection} has a request body example`, ["the contract test sends it"]);
		return;
	}
	const url = concrete(collection, scratch);
	const created = await http("POST", url, { body: example, token: TOKEN });
	validate(created, collection, "POST", [201], "its example");
	const id = created.status === 201 && created.json ? created.json.id : undefined;

	const bad = { ...(typeof example === "object" && example ? example : {}), [BAD_MEMBER]: true };
	const invalid = await http("POST", url, { body: bad, token: TOKEN });
	if (invalid.status === 201 && invalid.json && invalid.json.id !== undefined)
		await http("DELETE", concrete(itemPath, scratch, invalid.json.id), { token: TOKEN });
	validate(invalid, collection, "POST", [422], `the example with "${BAD_MEMBER}"`);

	if (id === undefined)
		return;
	try {
		if (opOf(itemPath, "GET")[0])
			validate(await http("GET", concrete(itemPath, scratch, id), { token: TOKEN }), itemPath, "GET", [200], "the created item");
		if (patch) {
			const pex = requestExample(patch);
			if (pex === undefined)
				tap(false, `PATCH ${itemPath} has a request body example`, ["the contract test sends it"]);
			else
				validate(await http("PATCH", concrete(itemPath, scratch, id), { body: pex, token: TOKEN }),
					itemPath, "PATCH", [200], "its example");
			validate(await http("PATCH", concrete(itemPath, scratch, id), { body: { [BAD_MEMBER]: true }, token: TOKEN }),
				itemPath, "PATCH", [422], `"${BAD_MEMBER}"`);
		}
	} finally {
		if (opOf(itemPath, "DELETE")[0]) {
			const del = await http("DELETE", concrete(itemPath, scratch, id), { token: TOKEN });
			validate(del, itemPath, "DELETE", [204]);
			if (opOf(itemPath, "GET")[0])
				validate(await http("GET", concrete(itemPath, scratch, id), { token: TOKEN }), itemPath, "GET", [404], "deleted");
		} else {
			diag(`${module} describes no DELETE: the created item ${id} stays in ${scratch}`);
		}
	}
}

async function main() {
	let res;
	try {
		res = await http("GET", "/api/v1/openapi.json");
	} catch (e) {
		tap(false, `GET ${BASE}/api/v1/openapi.json`, [String(e)]);
		return;
	}
	if (res.status !== 200 || !res.json || typeof res.json.paths !== "object") {
		tap(false, "GET /api/v1/openapi.json is an OpenAPI document", [excerpt(res)]);
		return;
	}
	doc = res.json;
	ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
	addFormats(ajv);
	try {
		ajv.addSchema(doc, "openapi.json");
	} catch (e) {
		tap(false, "the document's schemas compile (Ajv, JSON Schema 2020-12)", [String(e)]);
		return;
	}

	await core();

	const mres = await http("GET", "/api/v1/municipalities");
	const munis = (mres.json && mres.json.items) || [];
	console.log("# --- open data");
	await opendata(munis);
	const modules = new Map();
	for (const t of Object.keys(doc.paths)) {
		const m = moduleOf(t);
		if (m && m !== "media" && t !== PREFIX + "/audit") // the core's, checked in core() and test_media.py
			modules.set(m, [...(modules.get(m) || []), t]);
	}
	// the core's uploaded files, under every municipality (uploads: test_media.py)
	if (munis.length && doc.paths[PREFIX + "/media"]) {
		console.log("# --- media (core)");
		validate(await http("GET", concrete(PREFIX + "/media", munis[0].slug)), PREFIX + "/media", "GET",
			[200], "the list");
	}
	for (const [module, templates] of [...modules.entries()].sort()) {
		console.log(`# --- ${module}`);
		try {
			await reads(module, templates.sort(), munis);
			await writes(module, munis);
		} catch (e) {
			tap(false, `${module}: the checks ran to the end`, [e && e.stack ? e.stack : String(e)]);
		}
	}
}

try {
	await main();
} catch (e) {
	tap(false, "the contract test ran to the end", [e && e.stack ? e.stack : String(e)]);
}
console.log(`1..${n}`);
console.log(`# ${n - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
