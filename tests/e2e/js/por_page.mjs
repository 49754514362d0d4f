// por_page.mjs — drives the proof-of-reserves page (web/por, served by
// `cloister serve` at /por/) in headless Chromium through puppeteer-core, as a
// user would: sets the two files on the page's file inputs and reads what the
// page shows.
//
//   node por_page.mjs URL FINAL_PROOF USER_PROOF[::ACCOUNT_ID] [...] [--final FINAL_PROOF USER_PROOF ...]
//
// (`--final` switches the final proof for the user proofs after it.)
// For each user proof (a fresh page load each; with ::ACCOUNT_ID the ID is
// typed into the page's account-ID field first) it prints one JSON line:
//   {"user": path, "status": "pass"|"fail", "failed": step id or "",
//    "steps": [{"id", "status", "text"}], "summary": text, "version",
//    "userHash", "balances": [row text], "totals": [row text], "totalNet",
//    "warnings": [text]}
// and at the end {"done": true, "problems": [...]} listing console errors,
// failed or non-2xx requests and requests to other origins (the page must load
// every module, through its import map, from the server alone).
// Env: CHROMIUM (default /usr/bin/chromium).
import puppeteer from 'puppeteer-core';

const [url, firstFinal, ...userPaths] = process.argv.slice(2);
let finalPath = firstFinal;
const origin = new URL(url).origin;
const problems = [];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
try {
  for (let i = 0; i < userPaths.length; i++) {
    if (userPaths[i] === '--final') {
      finalPath = userPaths[++i];
      continue;
    }
    const [user, uid] = userPaths[i].split('::');
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('data:') && new URL(r.url()).origin !== origin) problems.push(`other origin: ${r.url()}`);
    });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    await page.waitForSelector('html[data-ready="true"]', { timeout: 30000 });
    if (uid !== undefined) await page.type('#uid', uid);
    await (await page.$('#user-file')).uploadFile(user);
    await (await page.$('#final-file')).uploadFile(finalPath);
    await page.waitForSelector('#result[data-status="pass"], #result[data-status="fail"]', { timeout: 30000 });
    const out = await page.evaluate(() => ({
      status: document.getElementById('result').dataset.status,
      failed: document.getElementById('result').dataset.failed,
      summary: document.getElementById('summary').textContent,
      steps: [...document.querySelectorAll('#steps li')].map((li) => ({
        id: li.dataset.step, status: li.dataset.status, text: li.textContent })),
      userHash: document.getElementById('user-hash').textContent,
      version: document.getElementById('result').dataset.version,
      balances: [...document.querySelectorAll('#balances tr')].map((tr) => tr.textContent),
      totals: [...document.querySelectorAll('#totals tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
      totalNet: document.getElementById('total-net').textContent,
      warnings: document.getElementById('warnings').hidden ? []
        : [...document.querySelectorAll('#warning-list li')].map((li) => li.textContent),
    }));
    console.log(JSON.stringify({ user, uid: uid ?? null, ...out }));
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ done: true, problems }));
