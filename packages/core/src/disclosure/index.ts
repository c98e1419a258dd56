// Disclosure reports (`etok report`): the model and one renderer per format.

import { renderHtml } from './html.js';
import { renderLatex } from './latex.js';
import { renderMarkdown } from './markdown.js';
import type { DisclosureReport } from './model.js';

export * from './charts.js';
export * from './escape.js';
export { renderHtml } from './html.js';
export { renderLatex } from './latex.js';
export { renderMarkdown } from './markdown.js';
export * from './model.js';

export const REPORT_FORMATS = ['md', 'latex', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function renderReport(report: DisclosureReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return renderMarkdown(report);
    case 'latex':
      return renderLatex(report);
    case 'html':
      return renderHtml(report);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
  }
}
