/**
 * The repository paths that the code's comments and the Markdown docs cite, and the ones among
 * them that do not exist, so a doc or a comment cannot go on pointing at a file that moved.
 *
 * A repository path starts with one of the project's own top-level folders (TOP_LEVEL_FOLDERS:
 * `lib/tables.ts`, `test/fixtures/histories`) or is a top-level doc (an upper-case Markdown name:
 * `README.md`, `CHANGELOG.md`). It is cited:
 * - in a Markdown doc, as a whole code span (`lib/tables.ts`), or as the target of a relative link
 *   or image (`[the audit](docs/guarantees.md#the-audit-holds-a-bad-night)`, resolved from the
 *   doc's folder; any relative target counts there, and its `#anchor` must be a heading of the
 *   target);
 * - in a comment of the code, bare or in backticks.
 * Not cited: URLs; npm packages and their files (`@temporalio/workflow`, `exceljs/lib/...`: no
 * folder of ours at the start); paths outside the repository (`../shared/data/...`); folders a
 * machine makes and the repository does not hold (`data/`, `.stack/`, `build/`, `dist/`,
 * `node_modules/`); anything inside a fenced code block of a doc (example output).
 * A line reference at the end (`:157`, `:72-293`) is dropped. `*`, `?`, `{date}` and `<name>` are
 * wildcards: the path must then match at least one file. A path without an extension may name a
 * TypeScript module (`lib/config` for `lib/config.ts`).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The project's own top-level folders: a path starting with one of them is a repository path. */
export const TOP_LEVEL_FOLDERS = ['.ci', 'activities', 'bench', 'bin', 'cli', 'docs', 'infra', 'lib', 'migrations', 'test', 'workers', 'workflows'];

/** Folders whose code comments are read (`.ci/run` and the top-level config files as well). */
const CODE_FOLDERS = ['lib', 'workflows', 'activities', 'workers', 'cli', 'infra', 'migrations', 'bench', 'test', 'bin', '.ci'];
const TOP_LEVEL_CODE_FILES = ['jest.config.js', 'docker-compose.yml', '.env.example'];
/** Recorded histories and other data: no comments in them. */
const NOT_CODE = [path.join('test', 'fixtures')];
/** Markdown docs whose citations are checked, besides docs/*.md. */
const TOP_LEVEL_DOCS = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'];

export interface Citation {
  /** The file that cites, relative to the repository root. */
  file: string;
  line: number;
  /** As written, e.g. `docs/guarantees.md#limits-on-a-workbook`. */
  cited: string;
  /** The path part, relative to the repository root. */
  target: string;
  /** A heading the citation links to, if any. */
  anchor?: string;
}

const FOLDER_START = TOP_LEVEL_FOLDERS.map((folder) => folder.replace('.', '\\.')).join('|');
/** A repository path as a whole string (a code span's text). */
const WHOLE_PATH = new RegExp(`^(?:(?:${FOLDER_START})(?:/\\S*)?|[A-Z][A-Z0-9_-]*\\.md)$`);
/** Repository paths inside running text (a comment): not preceded by a character a path or URL could continue. */
const PATH_IN_TEXT = new RegExp(`(?<![\\w@/.~-])(?:(?:${FOLDER_START})/[\\w./*?{}<>-]*|[A-Z][A-Z0-9_-]*\\.md\\b)`, 'g');

/** Strips what follows a path in prose (a sentence's full stop, a line reference). */
export function trimPath(raw: string): string {
  return raw.replace(/[.,;:'")`]+$/, '').replace(/:\d+(?:-\d+)?$/, '');
}

/** The repository paths a comment's text cites. */
export function pathsInComment(text: string): string[] {
  return [...text.matchAll(PATH_IN_TEXT)].map((match) => trimPath(match[0])).filter((cited) => cited !== '');
}

/** A code span's text, if it is a repository path. */
export function pathOfCodeSpan(span: string): string | undefined {
  const text = span.trim();
  return WHOLE_PATH.test(text) ? trimPath(text) : undefined;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

interface MarkdownLine {
  line: number;
  text: string;
}

/** The lines of a Markdown doc outside fenced code blocks. */
function proseLines(markdown: string): MarkdownLine[] {
  const lines: MarkdownLine[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(text);
    if (fence) {
      if (opening && opening[1].startsWith(fence)) fence = undefined;
    } else if (opening) {
      fence = opening[1];
    } else {
      lines.push({ line: index + 1, text });
    }
  });
  return lines;
}

/** The anchors of a Markdown doc's headings, numbered as GitHub numbers repeated ones. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const anchor = headingAnchor(heading[1]);
    const times = seen.get(anchor) ?? 0;
    anchors.add(times === 0 ? anchor : `${anchor}-${times}`);
    seen.set(anchor, times + 1);
  }
  return anchors;
}

/** What a Markdown doc (at `file`, relative to the root) cites: its code-span paths and relative links. */
export function citationsInMarkdown(file: string, markdown: string): Citation[] {
  const citations: Citation[] = [];
  const folder = path.posix.dirname(file);
  for (const { line, text } of proseLines(markdown)) {
    // Code spans first; blanked out, so a link's text may hold one and a span never reads as a link.
    const blanked = text.replace(/`([^`]+)`/g, (span, inner: string) => {
      const cited = pathOfCodeSpan(inner);
      if (cited) citations.push({ file, line, cited: inner, target: path.posix.normalize(cited) });
      return ' '.repeat(span.length);
    });
    for (const link of blanked.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const cited = link[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(cited)) continue; // a URL, mailto: and the like
      const [linked, anchor] = cited.split('#', 2);
      const target = linked === '' ? file : path.posix.normalize(path.posix.join(folder, decodeURIComponent(linked)));
      citations.push({ file, line, cited, target, anchor: anchor || undefined });
    }
  }
  return citations;
}

/** Every comment of a TypeScript or JavaScript file, with the line it starts on. */
function scriptComments(file: string, source: string): MarkdownLine[] {
  const kind = file.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, kind);
  const starts = new Set<number>();
  const comments: MarkdownLine[] = [];
  const take = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      if (starts.has(range.pos)) continue;
      starts.add(range.pos);
      comments.push({ line: tree.getLineAndCharacterOfPosition(range.pos).line + 1, text: source.slice(range.pos, range.end) });
    }
  };
  // Every comment is trivia before some token (the end-of-file token included), or after one.
  const visit = (node: ts.Node) => {
    take(ts.getLeadingCommentRanges(source, node.getFullStart()));
    take(ts.getTrailingCommentRanges(source, node.getEnd()));
    for (const child of node.getChildren(tree)) visit(child);
  };
  visit(tree);
  return comments;
}

/** The comments of a file in one of the other languages the repository holds. */
function otherComments(file: string, source: string): MarkdownLine[] {
  const comments: MarkdownLine[] = [];
  const lineOf = (offset: number) => source.slice(0, offset).split('\n').length;
  const block = file.endsWith('.xml') ? /<!--[\s\S]*?-->/g : file.endsWith('.sql') ? /\/\*[\s\S]*?\*\/|--[^\n]*/g : /(?:^|\s)#[^\n]*/g;
  for (const match of source.matchAll(block)) comments.push({ line: lineOf(match.index ?? 0), text: match[0] });
  return comments;
}

const COMMENTED = /\.(?:ts|js|py|properties|sql|xml|yml|yaml|sh|example)$|^\.ci\/run$/;

/** What the comments of a code file (at `file`, relative to the root) cite. */
export function citationsInCode(file: string, source: string): Citation[] {
  if (pathsInComment(source).length === 0) return []; // nothing that looks like a path anywhere: no need to parse
  const comments = /\.(?:ts|js)$/.test(file) ? scriptComments(file, source) : otherComments(file, source);
  return comments.flatMap(({ line, text }) =>
    text.split('\n').flatMap((commentLine, offset) =>
      pathsInComment(commentLine).map((cited) => ({ file, line: line + offset, cited, target: path.posix.normalize(cited) })),
    ),
  );
}

function filesUnder(root: string, folder: string): string[] {
  const at = path.join(root, folder);
  if (!fs.existsSync(at)) return [];
  return fs.readdirSync(at, { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(folder, entry.name);
    if (entry.name === 'node_modules' || NOT_CODE.includes(relative)) return [];
    return entry.isDirectory() ? filesUnder(root, relative) : [relative];
  });
}

/** The code files whose comments are read, relative to the root. */
export function codeFiles(root: string): string[] {
  const files = [...CODE_FOLDERS.flatMap((folder) => filesUnder(root, folder)), ...TOP_LEVEL_CODE_FILES];
  return files.filter((file) => COMMENTED.test(file) && fs.existsSync(path.join(root, file)));
}

/** The Markdown docs whose citations are checked, relative to the root. */
export function markdownDocs(root: string): string[] {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
  return [...TOP_LEVEL_DOCS, ...docs];
}

/** A wildcard path as a regular expression: `*` and `?` within one folder, `{a,b}` either. */
function wildcardPattern(wildcards: string): RegExp {
  const source = wildcards
    .split(/(\*|\?|\{[^}]*\})/)
    .map((part) => {
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      if (part.startsWith('{')) return `(?:${part.slice(1, -1).split(',').map(escapeRegExp).join('|')})`;
      return escapeRegExp(part);
    })
    .join('');
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether a cited path exists in the repository at `root`; wildcards must match at least one file. */
export function citedPathExists(root: string, target: string): boolean {
  if (target.startsWith('../') || path.isAbsolute(target)) return false;
  const wildcards = target.replace(/<[^>]*>/g, '*').replace(/\{[^},]*\}/g, '*').replace(/\/$/, '');
  const firstWildcard = wildcards.search(/[*?{]/);
  if (firstWildcard >= 0) {
    const matches = wildcardPattern(wildcards);
    const folder = wildcards.slice(0, firstWildcard).replace(/[^/]*$/, '').replace(/\/$/, '');
    return filesUnder(root, folder).some((file) => matches.test(file) || matches.test(path.posix.dirname(file)));
  }
  return ['', '.ts', '.js', '/index.ts'].some((ending) => fs.existsSync(path.join(root, wildcards + ending)));
}

/** Every citation that names a path or a heading that is not there, as `file:line: message`. */
export function staleCitations(root: string): string[] {
  const citations = [
    ...markdownDocs(root).flatMap((file) => citationsInMarkdown(file, fs.readFileSync(path.join(root, file), 'utf8'))),
    ...codeFiles(root).flatMap((file) => citationsInCode(file, fs.readFileSync(path.join(root, file), 'utf8'))),
  ];
  const anchorsOf = new Map<string, Set<string>>();
  const stale: string[] = [];
  for (const citation of citations) {
    const where = `${citation.file}:${citation.line}`;
    if (!citedPathExists(root, citation.target)) {
      stale.push(`${where}: cites ${citation.cited}, which does not exist`);
    } else if (citation.anchor && citation.target.endsWith('.md')) {
      if (!anchorsOf.has(citation.target)) anchorsOf.set(citation.target, headingAnchors(fs.readFileSync(path.join(root, citation.target), 'utf8')));
      if (!anchorsOf.get(citation.target)?.has(citation.anchor)) stale.push(`${where}: links to ${citation.cited}, but ${citation.target} has no heading #${citation.anchor}`);
    }
  }
  return stale;
}
