import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

// Reference-style links are off: one long URL defined once and used thousands of times would
// multiply a cell's bounded source into an unbounded page.
const markdown = new MarkdownIt({ html: true, linkify: true }).disable('reference');

/** What survives sanitizing: document markup, no scripts, styles, frames, forms or event handlers. */
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags,
    'img',
    'del',
    'ins',
    'sup',
    'sub',
    'details',
    'summary',
    'kbd',
    'var',
    'samp',
    'mark',
    'figure',
    'figcaption',
  ],
  allowedAttributes: {
    ...sanitizeHtml.defaults.allowedAttributes,
    '*': ['class', 'id', 'title', 'lang', 'dir'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    td: ['colspan', 'rowspan', 'align'],
    th: ['colspan', 'rowspan', 'align', 'scope'],
    ol: ['start', 'type'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https', 'data'] },
  allowProtocolRelative: false,
};

/** Markdown (with inline HTML) or HTML from a cell, as HTML that is safe to insert into a page. */
export function renderCellHtml(kind: 'md' | 'html', source: string): string {
  return sanitizeHtml(kind === 'md' ? markdown.render(source) : source, SANITIZE);
}
