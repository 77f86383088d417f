// catalog.mjs - the DCAT-AP-SE catalogue (GET /api/v1/catalog.jsonld)
// through a real JSON-LD processor (npm jsonld): expanded and turned into
// RDF (N-Quads) in safe mode, so a term that does not expand to an IRI is
// an error, with a document loader that loads nothing from the network:
// a remote context must be one of the files in tests/contract/contexts/
// (none is needed today: the catalogue's context is inline).  Then the RDF
// is checked: one dcat:Catalog, a dcat:Dataset per municipality and
// enabled module with its licence, publisher, contact point, theme,
// modification date and distributions (access and download URLs under
// the portal's public URL, formats from the EU file-type vocabulary).
//
// Environment: PORTAL_URL (default http://127.0.0.1:8080).  Output: TAP.
// Run by tests/integration/test_catalog_jsonld.sh.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import jsonld from "jsonld";

const BASE = (process.env.PORTAL_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONTEXTS = path.join(HERE, "contexts"); // URL -> file: contexts/index.json

let n = 0, failed = 0;
function tap(ok, desc, diag = "") {
	n++;
	if (!ok) failed++;
	console.log(`${ok ? "ok" : "not ok"} ${n} - ${desc}`);
	if (!ok && diag)
		for (const l of String(diag).split("\n").slice(0, 30)) console.log("#   " + l);
	return ok;
}

const loaded = [];
async function documentLoader(url) {
	let index = {};
	try {
		index = JSON.parse(fs.readFileSync(path.join(CONTEXTS, "index.json"), "utf8"));
	} catch { /* no contexts shipped */ }
	loaded.push(url);
	if (!index[url])
		throw new Error(`no network in the tests: ${url} is not in tests/contract/contexts/index.json`);
	return { contextUrl: null, documentUrl: url,
		document: JSON.parse(fs.readFileSync(path.join(CONTEXTS, index[url]), "utf8")) };
}

const DCAT = "http://www.w3.org/ns/dcat#", DCT = "http://purl.org/dc/terms/";
const FOAF = "http://xmlns.com/foaf/0.1/", VCARD = "http://www.w3.org/2006/vcard/ns#";
const RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

async function main() {
	const res = await fetch(BASE + "/api/v1/catalog.jsonld", { headers: { Host: "evil.example" } });
	if (!tap(res.status === 200, `GET /api/v1/catalog.jsonld -> ${res.status}`)) return;
	tap((res.headers.get("content-type") || "").startsWith("application/ld+json"),
		"Content-Type is application/ld+json", res.headers.get("content-type"));
	const doc = await res.json();
	const munis = (await (await fetch(BASE + "/api/v1/municipalities")).json()).items;

	let quads;
	try {
		const nq = await jsonld.toRDF(doc, { format: "application/n-quads", documentLoader, safe: true });
		quads = nq.split("\n").filter(Boolean);
		tap(quads.length > 0, `expands to RDF in safe mode (${quads.length} triples)`);
	} catch (e) {
		tap(false, "expands to RDF in safe mode", e && e.stack ? e.stack : String(e));
		return;
	}
	// the loader throws for anything not shipped: whatever was loaded is local
	tap(true, `no document from the network (${loaded.length} loaded from tests/contract/contexts/)`);

	// the triples as a graph: subject -> predicate -> [objects]
	const g = new Map();
	const term = (s) => s.startsWith("<") ? s.slice(1, s.indexOf(">")) : s;
	for (const q of quads) {
		const m = q.match(/^(\S+) <([^>]+)> (.*) \.$/);
		if (!m) continue;
		const s = term(m[1]), p = m[2];
		let o = m[3];
		o = o.startsWith("<") ? o.slice(1, -1) : o;
		if (!g.has(s)) g.set(s, new Map());
		const ps = g.get(s);
		if (!ps.has(p)) ps.set(p, []);
		ps.get(p).push(o);
	}
	const of = (s, p) => (g.get(s) && g.get(s).get(p)) || [];
	const typed = (t) => [...g.keys()].filter((s) => of(s, RDF_TYPE).includes(t));

	const cats = typed(DCAT + "Catalog");
	tap(cats.length === 1, `one dcat:Catalog (${cats.length})`);
	const datasets = typed(DCAT + "Dataset");
	const want = munis.reduce((k, m) => k + m.modules.length, 0);
	tap(datasets.length === want, `a dcat:Dataset per municipality and module (${datasets.length}, want ${want})`);
	tap(of(cats[0], DCAT + "dataset").length === want, "the catalogue lists every dataset");
	const base = new URL(BASE).origin;
	let bad = [];
	for (const d of datasets) {
		for (const p of [DCT + "license", DCT + "publisher", DCAT + "contactPoint", DCAT + "theme",
			DCT + "title", DCT + "identifier", DCAT + "distribution", DCT + "language"])
			if (!of(d, p).length) bad.push(`${d}: no ${p}`);
		const lic = of(d, DCT + "license")[0];
		if (lic !== "https://creativecommons.org/publicdomain/zero/1.0/") bad.push(`${d}: licence ${lic}`);
		const pub = of(d, DCT + "publisher")[0];
		if (pub && !of(pub, FOAF + "name").length) bad.push(`${d}: the publisher has no foaf:name`);
		const cp = of(d, DCAT + "contactPoint")[0];
		if (cp && !of(cp, VCARD + "fn").length) bad.push(`${d}: the contact point has no vcard:fn`);
		for (const x of of(d, DCAT + "distribution")) {
			if (!of(x, RDF_TYPE).includes(DCAT + "Distribution")) bad.push(`${x}: not a dcat:Distribution`);
			for (const p of [DCAT + "accessURL", DCAT + "downloadURL"]) {
				const u = of(x, p)[0] || "";
				if (!u.startsWith(base + "/api/v1/")) bad.push(`${x}: ${p} ${u}`);
			}
			const f = of(x, DCT + "format")[0] || "";
			if (!f.startsWith("http://publications.europa.eu/resource/authority/file-type/"))
				bad.push(`${x}: format ${f}`);
		}
	}
	tap(!bad.length, "every dataset has licence, publisher, contact point, theme and distributions with URLs under public_url",
		bad.join("\n"));
	const mod = datasets.filter((d) => of(d, DCT + "modified").length);
	tap(mod.length > 0 && mod.every((d) => /\^\^<http:\/\/www\.w3\.org\/2001\/XMLSchema#dateTime>$/.test(of(d, DCT + "modified")[0])),
		`dct:modified is an xsd:dateTime (${mod.length} datasets have one)`);
	tap(!quads.some((q) => q.includes("evil.example")), "no IRI from the Host header");
}

try {
	await main();
} catch (e) {
	tap(false, "the catalogue check ran to the end", e && e.stack ? e.stack : String(e));
}
console.log(`1..${n}`);
process.exitCode = failed ? 1 : 0;
