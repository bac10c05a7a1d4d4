import { llamaConfig } from './config.js';
import { readGgufHeader } from './gguf/reader.js';
import { LlamaModel } from './llama.js';
import { tokenizerFromGguf } from './tokenizer.js';
import { loadLlamaWeights } from './weights.js';

/** Read a GGUF Llama model: header, config, tokenizer, weights (dequantised to float32). */
export function loadModel(file: string): LlamaModel {
  const header = readGgufHeader(file);
  const config = llamaConfig(header);
  const tokenizer = tokenizerFromGguf(header);
  return new LlamaModel(file, config, tokenizer, loadLlamaWeights(header, config));
}
