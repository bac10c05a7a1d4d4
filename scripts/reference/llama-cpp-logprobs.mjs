// One-off reference: per-token log-probabilities and tokenizations of stories260K by llama.cpp,
// through node-llama-cpp 3.21.1. NOT a dependency of sae: install it in a folder outside the repo
//   mkdir /tmp/nlc && cd /tmp/nlc && npm install node-llama-cpp@3.21.1
// and run from the repository root:
//   NODE_LLAMA_CPP=/tmp/nlc/node_modules/node-llama-cpp node scripts/reference/llama-cpp-logprobs.mjs
// It writes fixtures/reference/stories260k-llamacpp.json, which test/model/llamacpp-parity.test.ts reads.
// Settings: CPU only, F32 KV cache, flash attention off, one sequence, whole text in one batch;
// probabilities at temperature 1 with top-k, top-p and min-p off (the full softmax).
import fs from 'node:fs';
import path from 'node:path';

const lib = process.env.NODE_LLAMA_CPP;
if (!lib) throw new Error('set NODE_LLAMA_CPP to the node-llama-cpp package folder');
const { getLlama } = await import(path.join(lib, 'dist', 'index.js'));

const MODEL = 'fixtures/stories260K.gguf';
const TEXTS = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
  'The dog ran to the big red ball. "Can I play too?" asked Tom. Mom smiled and said yes.',
  'One day, a bird sat on a tree and sang a happy song.\nThe end.',
];
const TOKENIZER_STRINGS = [
  ...TEXTS,
  'Hello world',
  '  two  spaces and a tab\there',
  'Zoë ate crème brûlée 🍰 in 東京!',
  '',
  '1234567890 + 987 = ?',
];

const llama = await getLlama({ gpu: false, logLevel: 'error' });
const model = await llama.loadModel({ modelPath: path.resolve(MODEL) });
const context = await model.createContext({
  contextSize: 512,
  batchSize: 512,
  flashAttention: false,
  sequences: 1,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});

const tokenizations = TOKENIZER_STRINGS.map((text) => ({ text, tokens: Array.from(model.tokenize(text)) }));

const logprobs = [];
const sequence = context.getSequence();
for (const text of TEXTS) {
  // BOS + the text's tokens, as llama.cpp's tokenizer gives them.
  const tokens = [model.tokens.bos, ...model.tokenize(text)];
  await sequence.clearHistory();
  const out = await sequence.controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]));
  const lp = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    const p = out[i]?.next?.probabilities?.get(tokens[i + 1]);
    lp.push(Math.log(p));
  }
  logprobs.push({ text, tokens, logprobs: lp });
}

const result = {
  source: 'llama.cpp via node-llama-cpp@3.21.1 (CPU, F32 KV cache, flash attention off); scripts/reference/llama-cpp-logprobs.mjs',
  model: 'stories260K.gguf sha256 270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d',
  tokenizations,
  logprobs,
};
fs.mkdirSync('fixtures/reference', { recursive: true });
fs.writeFileSync('fixtures/reference/stories260k-llamacpp.json', JSON.stringify(result, null, 1) + '\n');
console.log('wrote fixtures/reference/stories260k-llamacpp.json', logprobs.map((l) => l.logprobs.length));
await context.dispose();
await model.dispose();
await llama.dispose();
