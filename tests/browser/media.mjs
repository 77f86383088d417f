// media.mjs - uploads from the browser editor (issue #17) in headless
// Chromium with JavaScript off, as a coordinator without curl does them:
//
//   the Files page: upload a PNG (setInputFiles, then "Upload"), see it
//   listed; a text file sent as a PDF is refused in the error summary and
//   beside the input; a news item with its image uploaded from the item's
//   own form (the file input beside image.media), shown on its public page
//   as a <picture>; a page with a PDF attached from its form, listed on the
//   public page with name, type and size; the file an item uses cannot be
//   deleted from the Files page (409); then everything is deleted again.
//   axe-core (WCAG 2.1 AA) on the Files page (with files, and with an
//   error), on the item forms with file inputs and on the public pages
//   with the image and the document.
//
// Run by tests/integration/test_media_browser.sh, which creates the
// account.  Environment: PORTAL_URL, EDITOR_EMAIL, EDITOR_PASSWORD (an
// editor of EDITOR_MUNI, default lerum), PORTAL_VAR (screenshots), CHROMIUM.
import { chromium } from 'playwright-core';
import { axeViolations, count, ok, pngOf } from './common.mjs';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const BASE = (process.env.PORTAL_URL || '').replace(/\/$/, '');
const MUNI = process.env.EDITOR_MUNI || 'lerum';
const EMAIL = process.env.EDITOR_EMAIL, PASSWORD = process.env.EDITOR_PASSWORD;
const shots = join(process.env.PORTAL_VAR || mkdtempSync(join(tmpdir(), 'portal-media-')), 'screenshots');
mkdirSync(shots, { recursive: true });

// The byte strings the portal refuses in an image as a possible polyglot
// (media_markers in core/items/media.c): random pixels hold one of them in
// about one run of twelve, so such bytes are made again.
const MARKERS = ['<?php', '<?=', '<script', '<html', '<!doctype', '<svg', '<iframe', '<body', 'javascript:'];

// A PNG of w x h pixels of random colours (new bytes every run), without
// the markers above.
function png(w, h) {
	for (;;) {
		const b = pngOnce(w, h), text = b.toString('latin1').toLowerCase();
		if (!MARKERS.some((m) => text.includes(m)))
			return b;
	}
}

function pngOnce(w, h) {
	const rows = [];
	for (let y = 0; y < h; y++)
		rows.push(Buffer.concat([Buffer.from([0]), randomBytes(w * 3)]));
	return pngOf(w, h, Buffer.concat(rows));
}

function pdf(tag) {
	return Buffer.from(`%PDF-1.4\n% ${tag} ${randomBytes(8).toString('hex')}\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n` +
		'2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n' + '% filler\n'.repeat(300) + 'trailer << /Root 1 0 R >>\n%%EOF\n');
}

// axe-core on `url`, in the context with JavaScript (axe needs it; the
// portal's pages run none either way); a screenshot.
async function axe(page, url, name) {
	const r = await page.goto(url);
	const notes = await axeViolations(page, shots, `media-${name}.png`);
	return ok(notes.length === 0 && r.status() < 500, `axe: 0 WCAG 2.1 AA violations on ${name} (${r.status()})`, notes);
}

// Clicks a submit button and waits for the page it leads to: the status of
// the form's POST (a 303 is followed) and its request.
async function submit(page, selector) {
	const posted = page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().method() === 'POST');
	const loaded = page.waitForNavigation({ waitUntil: 'load' });
	await page.locator(selector).first().click();
	const r = await posted;
	await loaded;
	return { status: r.status(), type: r.request().headers()['content-type'] || '' };
}

async function signIn(page) {
	await page.goto(`${BASE}/login`);
	await page.fill('input[name="email"]', EMAIL);
	await page.fill('input[name="password"]', PASSWORD);
	return (await submit(page, 'main form button[type="submit"]')).status;
}

// A field of the editor's form (the page's header has forms of its own).
const F = (name) => `main form[enctype="multipart/form-data"] [name="${name}"]`;

async function api(path) {
	const r = await fetch(BASE + path, { headers: { 'Portal-Read': 'primary' } });
	return { status: r.status, body: r.status === 200 ? await r.json() : null };
}

if (!BASE || !EMAIL || !PASSWORD) {
	console.log('not ok 1 - PORTAL_URL, EDITOR_EMAIL and EDITOR_PASSWORD must be set');
	process.exit(1);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const made = { news: null, page: null };
const files = `${BASE}/edit/${MUNI}/media/`;
let page, look;
try {
	// the coordinator's browser: no JavaScript at all
	const ctx = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
	page = await ctx.newPage();
	ok((await signIn(page)) === 303, 'sign in (JavaScript off)');
	// a second session with JavaScript, for axe only
	const ctx2 = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
	look = await ctx2.newPage();
	await signIn(look);

	// the Files page: upload a PNG
	await page.goto(files);
	const photo = png(640, 480);
	await page.setInputFiles('#f-file', { name: 'Vänortsbesök.png', mimeType: 'image/png', buffer: photo });
	let s = await submit(page, 'main form[enctype="multipart/form-data"] button[type="submit"]');
	ok(s.status === 303 && s.type.startsWith('multipart/form-data') && page.url().includes('uploaded='),
		`"Upload" sends multipart/form-data and answers 303 (${s.status}, ${s.type.split(';')[0]})`);
	if (s.status !== 303) // what the page said, for whoever reads a failure
		console.log(`#   ${((await page.textContent('main')) || '').replace(/\s+/g, ' ').slice(0, 400)}`);
	const photoId = Number(new URL(page.url()).searchParams.get('uploaded'));
	ok(await page.locator(`#file-${photoId}`).count() === 1 &&
		(await page.textContent(`#file-${photoId}`)).includes('Vänortsbesök.png') &&
		await page.locator(`#file-${photoId} img[alt=""]`).count() === 1 &&
		await page.locator('.notice').count() === 1,
		'the file is listed with its thumbnail and name, and a notice says it is uploaded');
	const rec = await api(`/api/v1/${MUNI}/media/${photoId}`);
	ok(rec.status === 200 && rec.body.width === 640 && rec.body.bytes === photo.length, `the API has the file (${rec.status})`);
	await axe(look, files, 'the Files page');

	// a text file sent as a PDF: refused beside the input
	await page.setInputFiles('#f-file', { name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.from('just text, not a PDF\n') });
	s = await submit(page, 'main form[enctype="multipart/form-data"] button[type="submit"]');
	const err = (await page.locator('#f-file-error').count()) ? await page.textContent('#f-file-error') : '';
	ok(s.status === 415 && await page.locator('.error-summary a[href="#f-file"]').count() === 1 && /accepted/.test(err),
		`a text file as a PDF: 415, the summary links to the input, the message beside it (${s.status}: ${err.trim()})`);
	ok((await page.title()).startsWith('Error'), `the title says Error (${await page.title()})`);
	await page.screenshot({ path: join(shots, 'media-files-error.png'), fullPage: true });

	// a news item with its image uploaded from the item's form
	await page.goto(`${BASE}/edit/${MUNI}/news/new`);
	ok(await page.locator('form[enctype="multipart/form-data"] input[type="file"][name="_file.image.media"]').count() === 1,
		'the news form is multipart, with a file input beside image.media');
	await axe(look, `${BASE}/edit/${MUNI}/news/new`, 'the news form with a file input');
	const title = `Bildnyhet ${Date.now()}`;
	await page.fill(F('title'), title);
	await page.fill(F('lang'), 'sv');
	await page.selectOption(F('status'), 'published');
	await page.fill(F('published_at'), '2026-11-30T09:00:00Z');
	await page.fill(F('body'), 'Besöket i bilder.');
	await page.fill(F('image.alt'), 'Delegationen framför rådhuset');
	const newsPhoto = png(400, 300);
	await page.setInputFiles(F('_file.image.media'), { name: 'rådhuset.png', mimeType: 'image/png', buffer: newsPhoto });
	s = await submit(page, 'main form[enctype="multipart/form-data"] .button-group button[type="submit"]:not([name])');
	const nid = Number(new URL(page.url()).pathname.split('/').pop());
	ok(s.status === 303 && nid > 0, `saving the news item with a file answers 303 (${s.status}, ${page.url()})`,
		s.status === 303 ? [] : [(await page.textContent('main')).slice(0, 500).replace(/\s+/g, ' ')]);
	made.news = nid || null;
	const item = nid ? await api(`/api/v1/${MUNI}/news/${nid}`) : { status: 0 };
	ok(item.status === 200 && item.body.image && item.body.image.media > 0 && item.body.image_file &&
		item.body.image_file.width === 400, `the item's image is the uploaded file (${JSON.stringify(item.body && item.body.image)})`);
	if (item.status === 200) {
		const pub = `${BASE}/${MUNI}/news/${nid}`;
		await page.goto(pub);
		ok(await page.locator('picture source[type="image/webp"]').count() >= 1 &&
			await page.locator('picture img[alt="Delegationen framför rådhuset"][width="400"][height="300"]').count() === 1,
			'its public page shows a <picture> with a WebP source, alt, width and height');
		await axe(look, pub, 'the news page with an uploaded image');
		// the file is used: deleting it from the Files page is 409
		await page.goto(files);
		const fid = item.body.image.media;
		s = await submit(page, `#file-${fid} button[type="submit"]`);
		ok(s.status === 409 && (await page.textContent('.error-summary')).includes(`news ${nid}`),
			`deleting the file a news item uses: 409 naming it (${s.status})`);
	}

	// a page with a PDF attached from its form
	await page.goto(`${BASE}/edit/${MUNI}/pages/new`);
	await page.fill(F('title'), `Strategi ${Date.now()}`);
	await page.fill(F('lang'), 'sv');
	await page.selectOption(F('status'), 'published');
	await page.fill(F('body'), 'Strategin finns som bilaga.');
	s = await submit(page, 'button[name="_action"][value="add:attachments"]');
	ok(s.status === 200 && await page.locator(F('_file.attachments[0].media')).count() === 1,
		`"Add" gives an attachment with a select of files and a file input (${s.status})`);
	await axe(look, `${BASE}/edit/${MUNI}/pages/new`, 'the page form');
	await page.fill(F('attachments[0].title'), 'Internationell strategi 2030');
	await page.setInputFiles(F('_file.attachments[0].media'), { name: 'strategi.pdf', mimeType: 'application/pdf', buffer: pdf('strategi') });
	s = await submit(page, 'main form[enctype="multipart/form-data"] .button-group button[type="submit"]:not([name])');
	const pid = Number(new URL(page.url()).pathname.split('/').pop());
	ok(s.status === 303 && pid > 0, `saving the page with a PDF answers 303 (${s.status})`,
		s.status === 303 ? [] : [(await page.textContent('main')).slice(0, 500).replace(/\s+/g, ' ')]);
	made.page = pid || null;
	if (pid) {
		const pub = `${BASE}/${MUNI}/pages/${pid}`;
		await page.goto(pub);
		const li = (await page.locator('ul.documents li').count()) ? await page.textContent('ul.documents li') : '';
		ok(/Internationell strategi 2030 \(PDF, \d+ kB\)/.test(li), `its public page lists the document with name, type and size (${li})`);
		await axe(look, pub, 'the page with a document');
	}
	await axe(look, files, 'the Files page with images and a PDF');
} catch (e) {
	ok(false, 'the upload flow ran to its end', [String(e && e.stack || e)]);
} finally {
	// clean up through the editor: the items, then their files
	try {
		for (const [m, id] of [['news', made.news], ['pages', made.page]]) {
			if (!id || !page)
				continue;
			await page.goto(`${BASE}/edit/${MUNI}/${m}/${id}/delete`);
			await submit(page, 'main form button.button-warning');
		}
		if (page) {
			for (const name of ['Vänortsbesök.png', 'rådhuset.png', 'strategi.pdf']) {
				for (let k = 0; k < 5; k++) {
					await page.goto(files);
					const row = page.locator('tbody tr', { hasText: name });
					if (!(await row.count()))
						break;
					const s = await submit(page, `#${await row.first().getAttribute('id')} button[type="submit"]`);
					if (s.status !== 303)
						console.log(`# cleanup: deleting ${name}: ${s.status}`);
				}
			}
		}
	} catch (e) {
		console.log(`# cleanup: ${e}`);
	}
	await browser.close();
}
console.log(`# axe: ${count.axePages} pages, ${count.axeViolations} violations; screenshots in ${shots}`);
process.exit(count.failed ? 1 : 0);
