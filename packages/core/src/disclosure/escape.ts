// Escaping per output format. Every string that reaches a report — a GPU name from the driver, a measurement id,
// a command line from a results file, and etok's own prose alike — goes through the escaper of the format it is
// written in, so a device called `\input{/etc/passwd}`, `<script>` or `100% & more` comes out as inert text.
// Terminal control sequences (ANSI escapes) and other control characters are removed first, for every format.

/** CSI / OSC / two-character ESC sequences, then every other C0/C1 control character except tab. */
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Removes ANSI escape sequences and control characters; newlines and tabs become spaces. */
export function stripControl(text: string): string {
  return text
    .replace(ANSI, '')
    .replace(CONTROL, '')
    .replace(/[\t\n]/g, ' ');
}

/**
 * Markdown (CommonMark/GFM): backslash-escape the punctuation that can start markup inline or end a table cell.
 * `(`, `)` and `!` need no escape because `[` always is (no link or image can open); etok never starts a line
 * with an escaped string, so `-`, `+`, `.` and digits at a line start cannot begin a list.
 */
export function escapeMarkdown(text: string): string {
  return stripControl(text).replace(/[\\`*_[\]<>#|~&$]/g, (c) => `\\${c}`);
}

/** HTML text and attribute values (double- or single-quoted). */
export function escapeHtml(text: string): string {
  return stripControl(text).replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** Symbols etok's prose uses, as math-mode LaTeX (consecutive ones share one `$…$`). */
const LATEX_MATH: Record<string, string> = {
  Φ: '\\Phi',
  ρ: '\\rho',
  θ: '\\theta',
  µ: '\\mu',
  μ: '\\mu',
  '×': '\\times',
  '−': '-',
  '±': '\\pm',
  '≥': '\\geq',
  '≤': '\\leq',
  '≈': '\\approx',
  '→': '\\rightarrow',
  '∅': '\\emptyset',
  '∞': '\\infty',
  '·': '\\cdot',
  '²': '^2',
  '\uE000': '\\dot{Q}',
};

/** TeX specials and typographic characters, in text mode. */
const LATEX_TEXT: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  $: '\\$',
  '&': '\\&',
  '%': '\\%',
  '#': '\\#',
  _: '\\_',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  '"': "''",
  '—': '---',
  '–': '--',
  '…': '\\ldots{}',
  '‘': '`',
  '’': "'",
  '“': '``',
  '”': "''",
};

/**
 * LaTeX text mode. TeX specials become their text commands; known symbols become math; any other character
 * outside printable ASCII becomes `?` so the paragraph compiles with pdflatex and the base packages only.
 */
export function escapeLatex(text: string): string {
  // Q̇ is Q + U+0307 (combining dot above); give it one code point (private use) before walking characters.
  const clean = stripControl(text).replace(/Q\u0307/g, '\uE000');
  let out = '';
  let math = '';
  const flush = () => {
    if (math) out += `$${math}$`;
    math = '';
  };
  for (const ch of clean) {
    const m = LATEX_MATH[ch];
    if (m !== undefined) {
      // A command followed by a letter needs a separator inside the shared math group.
      math += math && /[a-zA-Z]$/.test(math) && /^[a-zA-Z]/.test(m) ? ` ${m}` : m;
      continue;
    }
    flush();
    const t = LATEX_TEXT[ch];
    // `--` would typeset as an en dash; keep command-line flags as typed.
    if (ch === '-' && out.endsWith('-')) out += '{}-';
    else if (t !== undefined) out += t;
    else if (ch >= ' ' && ch <= '~') out += ch;
    else out += '?';
  }
  flush();
  return out;
}

/** The opening of a self-contained HTML page: no script, style inline, images only as data URLs (the policy says
    so to the browser too), up to and including `<main>`. */
export function htmlPageStart(title: string, css: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<main>`;
}
