/** Just enough Markdown for the docs' tests: links, headings as GitHub anchors them, code. */

export const REPO = new URL("../../", import.meta.url).pathname;

/** The docs a reader is pointed to: the README, docs/*.md, the function's README. */
export async function docFiles(): Promise<string[]> {
  const files = ["README.md", "supabase/functions/api-gateway/README.md"];
  for await (const entry of Deno.readDir(`${REPO}docs`)) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  return files.sort();
}

export interface Located {
  text: string;
  /** 1-based. */
  line: number;
}

const FENCE = /^\s*(```|~~~)\s*([\w+-]*)/;

/** Fenced code blocks, with their language ("" when none) and lines. */
export function codeBlocks(md: string): { lang: string; lines: Located[] }[] {
  const blocks: { lang: string; lines: Located[] }[] = [];
  let open: { lang: string; lines: Located[] } | null = null;
  md.split("\n").forEach((text, i) => {
    const fence = FENCE.exec(text);
    if (fence) {
      if (open) blocks.push(open);
      open = open ? null : { lang: fence[2], lines: [] };
    } else if (open) {
      open.lines.push({ text, line: i + 1 });
    }
  });
  return blocks;
}

/** The text outside fenced blocks, line by line (fenced lines are blank). */
function prose(md: string): string[] {
  let inFence = false;
  return md.split("\n").map((text) => {
    if (FENCE.test(text)) {
      inFence = !inFence;
      return "";
    }
    return inFence ? "" : text;
  });
}

/** Link targets (`[label](target)`, images too) outside code. */
export function linkTargets(md: string): Located[] {
  return prose(md).flatMap((text, i) =>
    [
      ...text.replace(/`[^`]*`/g, (code) => " ".repeat(code.length))
        .matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g),
    ]
      .map((m) => ({ text: m[1], line: i + 1 }))
  );
}

/** The anchors GitHub gives the headings: the text lowercased, inline code and link markup
 * reduced to their text, punctuation but `-` and `_` dropped, each space a `-`; a repeated
 * anchor gets `-1`, `-2`... */
export function headingAnchors(md: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const text of prose(md)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const slug = heading[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/`/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** A relative link resolved against the file it is in: the repository path it names (the file
 * itself for `#anchor`) and the anchor, if any. Null for a link that leaves the repository's files
 * (a URL, mailto:). */
export function resolveLink(
  fromFile: string,
  target: string,
): { path: string; anchor: string | null } | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null;
  const [rawPath, anchor = null] = target.split("#", 2);
  const path = rawPath === ""
    ? fromFile
    : decodeURIComponent(new URL(rawPath, `file:///${fromFile}`).pathname.slice(1))
      .replace(/\/$/, "");
  return { path, anchor };
}
