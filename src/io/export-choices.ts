/**
 * The formats `sae export-dictionary` writes, and its JSON size limit: constants of their own so
 * that the CLI can show them in its help without loading the exporters.
 */
export const EXPORT_FORMATS = ['saelens', 'safetensors', 'npy', 'arrow', 'json', 'sparsify'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The largest JSON export (in features) written without --force. */
export const DEFAULT_MAX_JSON_FEATURES = 4096;
