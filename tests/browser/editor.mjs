// editor.mjs - the browser editor as a coordinator uses it, in headless
// Chromium (Debian's, driven by playwright-core) with no JavaScript of the
// portal's (the CSP allows none) and axe-core on every editor page.  Run by
// tests/integration/test_editor_browser.sh, which creates the accounts.
//
//   sign in; create a partnership with two agreements (added with the
//   form's own buttons); save with an invalid date and see the message
//   beside the field and in the summary; edit in two sessions and get the
//   conflict page, losing neither version; restore an older version from
//   the history; delete with confirmation; sign out, and /edit/ sends to
//   /login again.
//
// Environment: PORTAL_URL, EDITOR_EMAIL, EDITOR_PASSWORD (an editor of
// EDITOR_MUNI, default lerum), ADMIN_EMAIL, ADMIN_PASSWORD (an admin of it),
// PORTAL_VAR (screenshots), CHROMIUM.
import { chromium } from 'playwright-core';
import { axeViolations, count, ok } from './common.mjs';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.PORTAL_URL || '').replace(/\/$/, '');
const MUNI = process.env.EDITOR_MUNI || 'lerum';
const EMAIL = process.env.EDITOR_EMAIL, PASSWORD = process.env.EDITOR_PASSWORD;
const ADMIN_EMAIL = process.env.ADMIN_EMAIL, ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const shots = join(process.env.PORTAL_VAR || mkdtempSync(join(tmpdir(), 'portal-editor-')), 'screenshots');
mkdirSync(shots, { recursive: true });


// axe-core (WCAG 2.1 A and AA) on the page as it is now; a screenshot.
async function axe(page, name) {
	const notes = await axeViolations(page, shots, `editor-${name}.png`);
	return ok(notes.length === 0, `axe: 0 WCAG 2.1 AA violations on the editor's ${name} page`, notes);
}

// Clicks a submit button and waits for the page it leads to; the status
// of the form's POST (a 303 is followed).
async function submit(page, selector) {
	const posted = page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().method() === 'POST');
	const loaded = page.waitForNavigation({ waitUntil: 'load' });
	if (typeof selector === 'string')
		await page.locator(selector).first().click();
	else
		await selector.click();
	const r = await posted;
	await loaded; // the page the POST led to (after a 303, the GET's)
	return r.status();
}

async function api(path) {
	const r = await fetch(BASE + path, { headers: { 'Portal-Read': 'primary' } });
	return { status: r.status, body: r.status === 200 ? await r.json() : null };
}

async function signIn(page, email, password) {
	await page.goto(`${BASE}/login`);
	await page.fill('input[name="email"]', email);
	await page.fill('input[name="password"]', password);
	return submit(page, 'main form button[type="submit"]');
}

if (!BASE || !EMAIL || !PASSWORD) {
	console.log('not ok 1 - PORTAL_URL, EDITOR_EMAIL and EDITOR_PASSWORD must be set');
	process.exit(1);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
	const ctx = await browser.newContext({ javaScriptEnabled: true, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();

	// the login page itself, before anything
	await page.goto(`${BASE}/login`);
	await axe(page, 'login');
	let st = await signIn(page, EMAIL, PASSWORD);
	ok(st === 303 && new URL(page.url()).pathname.startsWith('/edit/'), `sign in answers 303 to the editor (got ${st}, now at ${page.url()})`);
	await axe(page, 'index');

	// a new partnership with two agreements, added with the form's buttons
	await page.goto(`${BASE}/edit/${MUNI}/partnerships/`);
	await axe(page, 'list');
	await page.goto(`${BASE}/edit/${MUNI}/partnerships/new`);
	await axe(page, 'new');
	// the keyboard alone: Enter in a text box saves (the form's first
	// submit button is Save, not "Add"), and the error summary is reached
	{
		await page.focus('[name="partner.name"]');
		await page.keyboard.type('Tangentby');
		const posted = page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().method() === 'POST');
		const loaded = page.waitForNavigation({ waitUntil: 'load' });
		await page.keyboard.press('Enter');
		const r = await posted;
		await loaded;
		const action = r.request().postData() || '';
		ok(r.status() === 422 && !action.includes('_action='),
			`Enter in a text box saves (422: kind is missing), got ${r.status()} ${action.includes('_action=') ? 'with an _action' : ''}`);
		const links = await page.locator('.error-summary a').count();
		ok(links >= 1 && (await page.inputValue('[name="partner.name"]')) === 'Tangentby',
			`the summary links to the missing field (${links}) and the typed name is kept`,
			[(await page.textContent('main')).slice(0, 400).replace(/\s+/g, ' ')]);
		await page.locator('.error-summary a').first().press('Enter');
		const target = await page.evaluate('location.hash');
		ok(target.startsWith('#f-'), `following a summary link with Enter goes to its field (${target})`);
		await page.goto(`${BASE}/edit/${MUNI}/partnerships/new`);
	}
	const name = `Editorby ${Date.now()}`;
	await page.fill('[name="partner.name"]', name);
	await page.fill('[name="partner.country"]', 'LV');
	await page.selectOption('[name="kind"]', 'twin_town');
	await page.selectOption('[name="status"]', 'active');
	await page.fill('[name="start_date.year"]', '2004');
	await page.fill('[name="description.sv"]', 'Skapad i webbläsaren.');
	await page.check('input[name^="areas"][value="culture"]');
	st = await submit(page, 'button[name="_action"][value="add:agreements"]');
	ok(st === 200 && (await page.inputValue('[name="partner.name"]')) === name,
		`"Add" re-renders the form with the input kept (${st})`);
	await page.selectOption('[name="agreements[0].kind"]', 'letter_of_intent');
	await page.fill('[name="agreements[0].date.year"]', '2003');
	await page.fill('[name="agreements[0].title"]', 'Avsiktsförklaring');
	await submit(page, 'button[name="_action"][value="add:agreements"]');
	await page.selectOption('[name="agreements[1].kind"]', 'twinning_agreement');
	await page.fill('[name="agreements[1].date.year"]', '2004');
	await page.fill('[name="agreements[1].date.month"]', '5');
	await page.fill('[name="agreements[1].title"]', 'Vänortsavtal');
	// move the second up and back down: the order follows
	await submit(page, 'button[name="_action"][value="up:agreements[1]"]');
	ok((await page.inputValue('[name="agreements[0].title"]')) === 'Vänortsavtal', 'moving an agreement up reorders the form');
	await submit(page, 'button[name="_action"][value="down:agreements[0]"]');
	st = await submit(page, 'form[action$="/new"] button.button:not(.button-secondary)');
	const m = /\/edit\/[^/]+\/partnerships\/(\d+)/.exec(new URL(page.url()).pathname);
	ok(st === 303 && m, `saving a new partnership answers 303 to its form (got ${st}, ${page.url()})`);
	const id = m ? m[1] : '0';
	let item = await api(`/api/v1/${MUNI}/partnerships/${id}`);
	ok(item.status === 200 && item.body.partner.name === name && item.body.agreements.length === 2 &&
		item.body.agreements[0].kind === 'letter_of_intent' && item.body.agreements[1].date === '2004-05' &&
		item.body.start_date === '2004' && item.body.description.sv === 'Skapad i webbläsaren.' &&
		JSON.stringify(item.body.areas) === '["culture"]',
		'the API has the partnership with its two agreements as typed', [JSON.stringify(item.body)]);
	ok((await page.textContent('.notice')).length > 0, 'the form says it was saved');
	await axe(page, 'item');

	// an invalid date: 422, the message beside the field, the summary links to it
	await page.fill('[name="end_date.year"]', '2010');
	await page.fill('[name="end_date.month"]', '13');
	st = await submit(page, 'form[action$="/' + id + '"] button.button:not(.button-secondary)');
	ok(st === 422, `an invalid date answers 422 (got ${st})`);
	const beside = await page.locator('[id="f-end_date-error"]').count();
	const link = await page.locator('.error-summary a[href="#f-end_date"]').count();
	ok(beside === 1 && link === 1, 'the message is beside the field and the summary links to it');
	ok((await page.inputValue('[name="end_date.month"]')) === '13' && (await page.inputValue('[name="partner.name"]')) === name,
		'the input is kept');
	const described = await page.getAttribute('[id="f-end_date"]', 'aria-describedby');
	ok(described && described.includes('f-end_date-error') && (await page.getAttribute('[id="f-end_date"]', 'aria-invalid')) === 'true',
		'the field is aria-invalid and described by its message');
	await axe(page, 'item-with-errors');
	// what the README shows (docs/editor.png): the top of the page
	await page.screenshot({ path: join(shots, 'editor-errors-top.png') });
	item = await api(`/api/v1/${MUNI}/partnerships/${id}`);
	ok(item.body.version === 1, 'nothing was written');

	// two sessions: the second save meets the conflict page, both versions kept
	const ctx2 = await browser.newContext({ locale: 'en-GB' });
	const page2 = await ctx2.newPage();
	await signIn(page2, EMAIL, PASSWORD);
	await page.goto(`${BASE}/edit/${MUNI}/partnerships/${id}`);
	await page2.goto(`${BASE}/edit/${MUNI}/partnerships/${id}`);
	await page.fill('[name="partner.region"]', 'Vidzeme');
	st = await submit(page, 'form[action$="/' + id + '"] button.button:not(.button-secondary)');
	ok(st === 303, `the first session saves (${st})`);
	await page2.fill('[name="partner.region"]', 'Kurzeme');
	st = await submit(page2, 'form[action$="/' + id + '"] button.button:not(.button-secondary)');
	const body2 = await page2.textContent('main');
	ok(st === 409 && body2.includes('Vidzeme') && (await page2.inputValue('[name="partner.region"]')) === 'Kurzeme',
		`the second gets the conflict page (409) showing the saved version and keeping its own (got ${st})`);
	await axe(page2, 'conflict');
	st = await submit(page2, 'form[action$="/' + id + '"] button.button:not(.button-secondary)');
	item = await api(`/api/v1/${MUNI}/partnerships/${id}`);
	ok(st === 303 && item.body.partner.region === 'Kurzeme', `saving again from the conflict page writes it (${st})`);
	await ctx2.close();

	// history: field by field, and restore an older version as a new write
	await page.goto(`${BASE}/edit/${MUNI}/partnerships/${id}/history`);
	const hist = await page.textContent('main');
	ok(hist.includes('partner.region') && hist.includes('Vidzeme') && hist.includes('Kurzeme'),
		'the history shows the changed field with its values');
	await axe(page, 'history');
	const restores = page.locator('form[action$="/history"] button');
	ok((await restores.count()) >= 2, 'older versions can be restored');
	// the last button is the oldest entry that has a version: the create
	st = await submit(page, restores.last());
	item = await api(`/api/v1/${MUNI}/partnerships/${id}`);
	ok(st === 303 && item.body.partner.region == null && item.body.version === 4,
		`restoring the first version writes it as version 4 (${st}, region ${item.body.partner.region}, version ${item.body.version})`);

	// delete asks first
	await page.goto(`${BASE}/edit/${MUNI}/partnerships/${id}/delete`);
	await axe(page, 'delete');
	st = await submit(page, 'main form button.button-warning');
	item = await api(`/api/v1/${MUNI}/partnerships/${id}`);
	ok(st === 303 && item.status === 404, `deleting after confirming answers 303 and the item is gone (${st}, ${item.status})`);

	// the admin's pages
	if (ADMIN_EMAIL) {
		const ctx3 = await browser.newContext({ locale: 'sv-SE' });
		const page3 = await ctx3.newPage();
		await signIn(page3, ADMIN_EMAIL, ADMIN_PASSWORD);
		for (const p of ['users', 'tokens']) {
			const r = await page3.goto(`${BASE}/edit/${MUNI}/${p}`);
			ok(r.status() === 200, `the admin's ${p} page answers 200`);
			await axe(page3, `admin-${p}`);
		}
		const r = await page3.goto(`${BASE}/edit/${MUNI}/visits/new`);
		ok(r.status() === 200, 'a new visit form (sv)');
		await axe(page3, 'visit-new-sv');
		const r2 = await page3.goto(`${BASE}/edit/${MUNI}/news/new`);
		ok(r2.status() === 200, 'a new news form (sv)');
		await axe(page3, 'news-new-sv');
		await ctx3.close();
	}

	// the user's own password: the page, and the page with its errors
	await page.goto(`${BASE}/account`);
	await axe(page, 'account');
	st = await submit(page, 'form[action="/account"] button[type="submit"]');
	ok(st === 422 && (await page.locator('.error-summary a[href="#current"]').count()) === 1,
		`the password form sent empty answers 422 with the summary linking to the field (${st})`);
	await axe(page, 'account-with-errors');

	// sign out: the session ends, /edit/ sends to /login
	st = await submit(page, 'form[action="/logout"] button');
	ok(st === 303, `signing out answers 303 (${st})`);
	const back = await page.goto(`${BASE}/edit/`);
	ok(new URL(page.url()).pathname === '/login', `after signing out /edit/ leads to /login (${page.url()}, ${back.status()})`);
} catch (e) {
	ok(false, `the editor flow ran to its end`, [String(e && e.stack || e)]);
} finally {
	await browser.close();
}
console.log(`# axe: ${count.axePages} editor pages, ${count.axeViolations} violations; screenshots in ${shots}`);
process.exit(count.failed ? 1 : 0);
