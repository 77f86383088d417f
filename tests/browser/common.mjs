// common.mjs - what the browser tests (a11y.mjs, editor.mjs, media.mjs)
// share: their TAP lines and counts, axe-core's source, axe-core on a page
// with a screenshot, and a PNG encoder for the images they upload.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const require = createRequire(import.meta.url);
export const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Checks run and failed; pages axe looked at, and the violations it found.
export const count = { n: 0, failed: 0, axePages: 0, axeViolations: 0 };

// One TAP line, its notes as comments after it; returns `good`.
export function ok(good, what, notes = []) {
	count.n++;
	if (!good)
		count.failed++;
	console.log(`${good ? 'ok' : 'not ok'} ${count.n} - ${what}`);
	for (const l of notes)
		console.log(`#   ${l}`);
	return good;
}

// axe-core (WCAG 2.1 A and AA) on the page as it is now, then a full-page
// screenshot `file` in `shots`: the violations, one line each.
export async function axeViolations(page, shots, file) {
	// page.evaluate runs outside the page's CSP (which allows no script)
	if (!(await page.evaluate('typeof axe !== "undefined"')))
		await page.evaluate(axeSource);
	const res = await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })`);
	count.axePages++;
	count.axeViolations += res.violations.length;
	await page.screenshot({ path: join(shots, file), fullPage: true });
	return res.violations.map((v) => `${v.id} (${v.impact}) ${v.nodes.map((x) => x.target.join(' ')).slice(0, 3).join(', ')}: ${v.help}`);
}

// A PNG (8-bit RGB) of w x h pixels from `raw`: h rows, each a filter
// byte (0) and w x 3 bytes.
export function pngOf(w, h, raw) {
	const table = new Int32Array(256).map((_, i) => {
		let c = i;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		return c;
	});
	const crc = (buf) => {
		let c = -1;
		for (const b of buf)
			c = table[(c ^ b) & 0xff] ^ (c >>> 8);
		return (c ^ -1) >>> 0;
	};
	const chunk = (type, data) => {
		const len = Buffer.alloc(4), sum = Buffer.alloc(4), td = Buffer.concat([Buffer.from(type), data]);
		len.writeUInt32BE(data.length);
		sum.writeUInt32BE(crc(td));
		return Buffer.concat([len, td, sum]);
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr.set([8, 2, 0, 0, 0], 8);
	return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
		chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
