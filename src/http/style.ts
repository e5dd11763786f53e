/** The pages' stylesheet, served at /static/rebond.css (no external resources). */
export const STYLESHEET = `
:root { --ink: #1d2433; --muted: #5b6476; --line: #d9dee8; --bg: #f5f7fb; --card: #fff; --accent: #2456c7; --hard: #b4232c; --soft: #a15c00; --ok: #1f7a3d; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); text-decoration: none; }
a:hover, a:focus { text-decoration: underline; }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2433; color: #fff; }
header.top .brand { color: #fff; font-weight: 700; font-size: 18px; letter-spacing: .02em; }
header.top nav { display: flex; gap: 18px; flex: 1; }
header.top nav a { color: #cfd6e6; }
header.top nav a[aria-current="page"] { color: #fff; font-weight: 600; }
header.top form { margin: 0; }
header.top button { background: none; border: 1px solid #56607a; color: #cfd6e6; border-radius: 4px; padding: 4px 10px; cursor: pointer; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 6px 0 4px; }
h2 { font-size: 17px; margin: 26px 0 10px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.crumbs { color: var(--muted); font-size: 13px; }
.crumbs a { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px; }
.tile { position: relative; display: block; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; color: var(--ink); }
.tile .label { display: block; color: var(--muted); font-size: 13px; }
.tile .value { display: block; font-size: 26px; font-weight: 650; margin-top: 2px; }
a.tile.rate { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent) inset; }
a.tile.rate:hover, a.tile.rate:focus { text-decoration: none; background: #eef3ff; }
a.tile.rate .value { color: var(--accent); }
.tip { visibility: hidden; position: absolute; left: 50%; top: calc(100% + 8px); transform: translateX(-50%); z-index: 5; white-space: nowrap; background: #1d2433; color: #fff; padding: 8px 12px; border-radius: 6px; font-size: 14px; box-shadow: 0 4px 14px rgba(0,0,0,.2); }
.tip::before { content: ""; position: absolute; top: -6px; left: 50%; margin-left: -6px; border: 6px solid transparent; border-top: 0; border-bottom-color: #1d2433; }
a.tile.rate:hover .tip, a.tile.rate:focus .tip { visibility: visible; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 14px 0 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; font-size: 13px; white-space: nowrap; }
th a { color: var(--ink); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
td.desc { max-width: 420px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
.badge.hard, .badge.bounced { color: var(--hard); }
.badge.soft { color: var(--soft); }
.badge.active { color: var(--ok); }
.pager { display: flex; gap: 14px; align-items: center; margin: 10px 0; color: var(--muted); }
.tabs { display: flex; gap: 6px; margin: 10px 0 14px; }
.tabs a { padding: 4px 12px; border: 1px solid var(--line); border-radius: 14px; background: var(--card); }
.tabs a[aria-current="page"] { background: var(--accent); color: #fff; border-color: var(--accent); }
form.inline { display: flex; gap: 8px; align-items: center; margin: 8px 0 16px; }
input[type=text], input[type=search], input[type=password], input[type=email], textarea { font: inherit; padding: 6px 9px; border: 1px solid #b9c1d0; border-radius: 5px; background: #fff; }
input[type=search], input[type=email] { min-width: 320px; }
textarea { width: 100%; min-height: 70px; }
button, .button { font: inherit; padding: 6px 14px; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
form.stack label { display: block; margin: 10px 0 4px; font-weight: 600; }
form.stack input[type=text] { width: 320px; }
.flash { padding: 10px 14px; border-radius: 6px; margin: 10px 0 16px; border: 1px solid; }
.flash.ok { background: #eaf7ee; border-color: #9fd3af; }
.flash.warn { background: #fff6e5; border-color: #f0c36d; }
.flash.error { background: #fdecec; border-color: #eea2a6; }
.muted { color: var(--muted); }
.first, dl.facts.first, h2.first { margin-top: 0; }
.login { max-width: 420px; margin: 60px auto; }
.login input[type=password] { width: 100%; }
@media (max-width: 800px) { header.top { flex-wrap: wrap; } input[type=search], input[type=email] { min-width: 0; width: 100%; } }
`;
