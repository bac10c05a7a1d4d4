/** Top examples per feature kept in a page by default (of the run's output.topK). */
export const DEFAULT_REPORT_EXAMPLES = 10;
