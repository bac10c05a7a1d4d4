import { BACKEND_CHOICES } from '../backend/choices.js';
import { z } from 'zod';

/**
 * The run configuration. Every field is documented where it is declared; defaults follow the
 * papers (Bricken et al. 2023 "Towards Monosemanticity"; Anthropic's April 2024 "Circuits
 * Updates" training recipe) scaled to small runs. Unknown keys are rejected everywhere.
 */

const paths = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

export const DataSchema = z
  .strictObject({
    train: paths.describe(
      'Training activations: Arrow IPC files (file or stream format), directories of them, or globs. Relative paths resolve against the config file\'s folder.',
    ),
    eval: paths
      .optional()
      .describe('Held-out activations (same forms as `train`). If absent, `evalFraction` of the training rows are held out.'),
    evalFraction: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.05)
      .describe('Fraction of training rows held out for evaluation when `eval` is not given (chosen by a seeded hash of the row index).'),
    column: z.string().min(1).default('activation').describe('Name of the activation column.'),
    columns: z
      .strictObject({
        tokenId: z.string().default('token_id').describe('Token id column (Int), optional in the data.'),
        token: z.string().default('token').describe('Token text column (Utf8), optional in the data.'),
        docId: z.string().default('doc_id').describe('Document id column (Int), optional in the data.'),
        pos: z.string().default('pos').describe('Position-in-document column (Int), optional in the data.'),
      })
      .prefault({})
      .describe('Names of the optional metadata columns carried along for reports.'),
    shuffleBuffer: positiveInt.default(65536).describe('Rows held in the shuffle buffer (memory: rows x d x 4 bytes).'),
    epochs: positiveInt
      .default(1)
      .describe('Passes over the training data when `train.steps` is not set.'),
    maxRows: positiveInt.optional().describe('Use at most this many training rows (per epoch).'),
    skipBadShards: z
      .boolean()
      .default(false)
      .describe('Skip (with a warning) an input shard that turns out corrupt during training instead of stopping.'),
  })
  .describe('Where the activations come from.');

export const SaeSchema = z
  .strictObject({
    expansion: z.number().positive().default(8).describe('Dictionary width as a multiple of the input width d (m = expansion x d).'),
    width: positiveInt.optional().describe('Explicit dictionary width m; overrides `expansion`.'),
    recipe: z
      .enum(['towards-monosemanticity', 'april-update'])
      .default('towards-monosemanticity')
      .describe(
        "'towards-monosemanticity' (2023): unit-norm decoder rows (gradient projection + renormalisation), L1 on f. 'april-update' (Anthropic, April 2024): unconstrained decoder, L1 on f_i * ||W_dec_i||, gradient clipping.",
      ),
    architecture: z
      .enum(['relu', 'topk', 'batchtopk', 'jumprelu'])
      .default('relu')
      .describe(
        "The encoder's activation and sparsity mechanism. 'relu': ReLU with the L1 penalty of `recipe` (default). 'topk': the k largest pre-activations of each row, MSE only (Gao et al. 2024, \"Scaling and evaluating sparse autoencoders\"; sparsify). 'batchtopk': the k x batch largest of the whole batch, and at inference a JumpReLU with the running average of the batch threshold, exported as SAELens/dictionary_learning 'jumprelu' (Bussmann et al. 2024, \"BatchTopK Sparse Autoencoders\"). 'jumprelu': f = pre where pre > a learned per-feature threshold exp(log_threshold), trained with straight-through gradients and an L0 penalty (`jumprelu`; Rajamanoharan et al. 2024, \"Jumping Ahead\"; Anthropic's January 2025 update); it trains on the sparse step (on the workers) like topk, or with train.kernel 'dense' on the dense reference. `recipe` still sets the decoder constraint, clipping and initialisation.",
      ),
    k: positiveInt
      .optional()
      .describe("topk / batchtopk: active features per row (batchtopk: on average). Default 32 (sparsify's default). Must be below the width. Not allowed with 'relu' or 'jumprelu'."),
    kStart: positiveInt
      .optional()
      .describe('topk / batchtopk: anneal k linearly from this value down to `k` over the first `kAnnealFraction` of the run (off when absent; sparsify and Gao et al. start at the final k).'),
    kAnnealFraction: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('Fraction of the run over which k anneals from `kStart` to `k`. Default 0.1.'),
    auxK: z
      .strictObject({
        coefficient: z.number().nonnegative().default(1 / 32).describe('Weight of the auxiliary loss (Gao et al. 2024 and sparsify: 1/32; 0: off).'),
        k: positiveInt.optional().describe('Dead latents that reconstruct the residual per row, k_aux. Default d/2 (Gao et al. 2024, appendix A.2; sparsify).'),
        deadTokens: positiveInt
          .optional()
          .describe('A latent is dead when it has not fired for this many training tokens. Default 10,000,000 (Gao et al.; sparsify), capped at a tenth of the run\'s tokens so that short runs use it.'),
      })
      .optional()
      .describe("topk / batchtopk: the AuxK auxiliary loss (Gao et al. 2024, section 2.4): the dead latents' own top-k_aux reconstruct the main reconstruction's residual, normalised by its variance. On by default for topk/batchtopk (give `{ \"coefficient\": 0 }` to turn it off); not allowed with 'relu' or 'jumprelu'."),
    thresholdBeta: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("batchtopk: the inference threshold is an exponential moving average of each batch's selection threshold with this decay, over the second half of the run. Default 0.999 (dictionary_learning's threshold_beta)."),
    jumprelu: z
      .strictObject({
        penalty: z
          .enum(['step', 'tanh', 'target-l0'])
          .default('step')
          .describe(
            "The sparsity penalty. 'step': l0Coefficient x L0, the L0's gradient reaching the thresholds through the straight-through estimator (Rajamanoharan et al. 2024, \"Jumping Ahead\", eq. 11; SAELens jumprelu_sparsity_loss_mode 'step'). 'tanh': l0Coefficient x sum_i tanh(tanhScale f_i ||W_dec_i||) (Anthropic, \"Circuits Updates - January 2025\"; SAELens mode 'tanh'). 'target-l0': l0Coefficient x (L0 / targetL0 - 1)^2, which pulls L0 towards targetL0 (dictionary_learning's JumpReluTrainer).",
          ),
        l0Coefficient: z
          .number()
          .nonnegative()
          .optional()
          .describe(
            "Weight of the sparsity penalty (lambda). Depends on the scale of the data like relu's sae.l1: the defaults are tuned on the stories260k layer-2 activations (1024 features, 2,000 steps from initialThreshold 'auto': L0 about 20 with 'step'). Default: 0.02 for 'step', 0.02 for 'tanh', 1 for 'target-l0' (dictionary_learning's sparsity_penalty). SAELens' l0_coefficient default is 1 on activations normalised to E||x||^2 = d.",
          ),
        targetL0: z
          .number()
          .positive()
          .optional()
          .describe("penalty 'target-l0' only: the L0 the penalty pulls towards. Default 20 (dictionary_learning's target_l0)."),
        bandwidth: z
          .number()
          .positive()
          .optional()
          .describe(
            'Width epsilon of the rectangle kernel of the straight-through gradient, in the units of the pre-activations (after `normalize`). Default 0.05 (SAELens jumprelu_bandwidth; Gemma Scope used 0.001 on activations of unit mean squared norm, Anthropic 2.0 on E||x|| = sqrt(d)).',
          ),
        initialThreshold: z
          .union([z.number().positive(), z.literal('auto')])
          .optional()
          .describe(
            "Every feature's threshold at step 0, in the units of the pre-activations, or 'auto' (default): each feature's threshold is set from the init sample (sae.initSamples rows, at most 4096) so that it fires on initialL0 / width of the rows, so L0 starts at initialL0 whatever the scale of the data and no feature starts dead. Under Adam the log-threshold moves about train.lr per step at most, so the thresholds must start near where they end: a fixed threshold that is far off leaves L0 where the reconstruction loss takes it (on the stories260k activations 0.5 starts at L0 ~200 of 1024 features and ends a 2,000-step run at L0 ~20 whatever targetL0). SAELens' jumprelu_init_threshold is 0.01, Gemma Scope's and dictionary_learning's 0.001, on inputs of unit mean squared norm over 100k+ steps; Anthropic's 0.1 with E||x|| = sqrt(d).",
          ),
        initialL0: z
          .number()
          .positive()
          .optional()
          .describe("initialThreshold 'auto' only: the L0 the thresholds give on the init sample at step 0. Default: targetL0 with penalty 'target-l0', else 20 (dictionary_learning's target_l0), at most a quarter of the width. Must be below the width."),
        tanhScale: z
          .number()
          .positive()
          .optional()
          .describe("penalty 'tanh' only: c in tanh(c f_i ||W_dec_i||). Default 4 (SAELens jumprelu_tanh_scale, Anthropic's January 2025 setting)."),
        warmupSteps: nonNegInt
          .optional()
          .describe('Linear warm-up of l0Coefficient from 0 over this many steps. Default 0 (SAELens l0_warm_up_steps; dictionary_learning warms up over 2000).'),
      })
      .optional()
      .describe(
        "jumprelu only: the sparsity penalty and the threshold's straight-through gradient. Not allowed with other architectures.",
      ),
    l1: z
      .union([z.number().nonnegative(), z.literal('auto')], { error: "expected 'auto' or a number >= 0" })
      .optional()
      .describe(
        "relu: L1 sparsity coefficient (lambda). 'auto' (default): 0.15 x the mean activation norm of the init sample (after `normalize`), which puts L0 near d/2 on typical dumps; resolved at the start of the run and written into its config.json. Not allowed with topk/batchtopk (their sparsity is `k`) or jumprelu (`jumprelu.l0Coefficient`).",
      ),
    bDecInit: z
      .enum(['geometric-median', 'mean', 'zeros'])
      .default('geometric-median')
      .describe('How b_dec is initialised from a data sample.'),
    initSamples: positiveInt.default(8192).describe('Rows sampled to initialise b_dec and the normalisation scale.'),
    encoderInit: z
      .enum(['tied', 'fit'])
      .optional()
      .describe(
        "topk/batchtopk: the encoder at step 0. 'tied' (default): W_enc = W_dec^T with unit decoder rows (Gao et al. 2024; sparsify), whose first reconstructions overshoot (k active directions, each weighted by its projection) until the run has shrunk the encoder. 'fit': the same directions with W_enc scaled by the factor that makes the reconstruction of the init sample (up to 4,096 of its rows) least-squares right; the selection is unchanged. jumprelu's initialThreshold 'auto' fits its encoder this way already; relu's L1 penalty depends on the encoder's scale, so it keeps 'tied'.",
      ),
    normalize: z
      .enum(['none', 'expected-norm'])
      .default('none')
      .describe("'expected-norm' scales inputs so that E||x|| = sqrt(d) (scale estimated once from a sample, folded back on export)."),
    decoderInitNorm: z
      .number()
      .positive()
      .optional()
      .describe('L2 norm of the initial decoder rows. Default: 1 (towards-monosemanticity), 0.1 (april-update).'),
  })
  .describe('The sparse autoencoder.');

export const ResampleSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe('Resample dead features (Towards Monosemanticity, appendix "Neuron Resampling"). Default: true for sae.architecture relu, false for topk/batchtopk (they have AuxK) and jumprelu.'),
    steps: z.array(positiveInt).optional().describe('Explicit steps at which to resample. Overrides `every`/`until`.'),
    every: positiveInt.optional().describe('Resample every N steps. Default: total steps / 8 (paper: 25k of ~200k-step schedules).'),
    until: z
      .number()
      .positive()
      .optional()
      .describe('No resampling after this step (integer > 1) or fraction of the run (<= 1). Default: 0.5 of the run (paper: 100k).'),
    deadWindow: positiveInt
      .optional()
      .describe('A feature is dead if it has not fired in this many preceding steps. Default: half the (smallest) gap between events (paper: 12,500 of 25,000).'),
    samples: positiveInt
      .optional()
      .describe('Inputs scored with the SAE loss to draw replacements from. Default: 819,200 (the paper) or all training rows when there are fewer (said in the run summary); a value above the training rows is scaled down with a warning.'),
    centre: z.boolean().default(false).describe('Subtract b_dec from the drawn input before normalising it.'),
    encoderScale: z.number().positive().default(0.2).describe('Encoder column := direction x this x mean alive encoder-column norm (paper: 0.2).'),
    rewarmupSteps: nonNegInt.default(0).describe('Linearly re-warm the learning rate over this many steps after each event (0: off).'),
  })
  .describe('Dead-feature resampling.');

export const TrainSchema = z
  .strictObject({
    steps: positiveInt
      .optional()
      .describe('Optimizer steps. If absent: `data.epochs` passes over the training rows, but at least `minTokens` tokens (small data is repeated).'),
    minTokens: positiveInt
      .default(2_048_000)
      .describe('Token budget a run without `steps` trains at least (500 steps of 4096): a small dump is repeated rather than trained for a handful of steps.'),
    batchSize: positiveInt.default(4096).describe('Rows per optimizer step.'),
    lr: z.number().positive().default(1e-3).describe('Adam learning rate (peak).'),
    beta1: z.number().min(0).lt(1).default(0.9).describe('Adam beta1.'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('Adam beta2.'),
    eps: z.number().positive().default(1e-8).describe('Adam epsilon.'),
    lrWarmupSteps: nonNegInt.default(0).describe('Linear learning-rate warm-up from 0 over this many steps.'),
    lrDecay: z
      .enum(['none', 'linear', 'cosine'])
      .default('none')
      .describe("Learning-rate decay to `lrMinFactor` x lr over the last `lrDecayFraction` of the run ('april-update' uses linear over the last 20%)."),
    lrDecayFraction: z.number().gt(0).max(1).default(0.2).describe('Fraction of the run (at its end) over which the learning rate decays.'),
    lrMinFactor: z.number().min(0).max(1).default(0).describe('Final learning rate as a fraction of `lr`.'),
    l1WarmupSteps: nonNegInt.default(0).describe('Linear warm-up of the L1 coefficient from 0 over this many steps (april-update: 5% of the run).'),
    gradClip: z.number().positive().optional().describe('Clip the global gradient norm to this value (april-update default: 1).'),
    seed: z.number().int().default(0).describe('Seed for initialisation, data order, held-out split and resampling.'),
    logEvery: positiveInt.default(25).describe('Steps between metrics-log lines (and progress updates).'),
    kernel: z
      .enum(['auto', 'dense', 'sparse'])
      .default('auto')
      .describe("Training-step formulation: 'dense' products, 'sparse' over active features only, or 'auto' (chosen by measured L0)."),
    workers: z
      .union([z.literal('auto'), nonNegInt.max(64)], { error: "expected 'auto' or an integer from 0 to 64" })
      .default('auto')
      .describe(
        "Worker threads for the training step, each owning a slice of the features ('auto': one per core, up to 8, or up to 16 with at least 512 features per worker; none on tfjs-node, which is multi-threaded itself). 0: no workers, every step on the main thread with tfjs (with train.kernel 'dense': the reference step). Results depend on the count only through float32 summation order.",
      ),
    simd: z.boolean().default(true).describe("Run the sparse step's loops as WebAssembly SIMD in the workers (false: plain JavaScript; same results up to summation order)."),
  })
  .describe('Optimisation.');

export const OutputSchema = z
  .strictObject({
    dir: z.string().default('runs').describe('Parent folder of run directories (relative to the config file).'),
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only').optional().describe('Run directory name. Default: the config file name.'),
    checkpointEverySteps: nonNegInt.default(500).describe('Write a checkpoint every N steps (0: only by time and at the end).'),
    checkpointEveryMinutes: z.number().nonnegative().default(10).describe('Write a checkpoint at least this often (0: off).'),
    keepCheckpoints: positiveInt.default(3).describe('Checkpoints kept (oldest deleted first).'),
    topK: nonNegInt.default(20).describe('Top activating examples kept per feature.'),
    contextTokens: nonNegInt.default(8).describe('Tokens of context kept on each side of a top example.'),
    denseThreshold: z.number().gt(0).max(1).default(0.1).describe('A feature firing on more than this fraction of tokens is flagged dense.'),
    statsRows: positiveInt.optional().describe('Held-out rows used for the final feature statistics (default: all held-out rows).'),
  })
  .describe('Run directory, checkpoints and statistics.');

export const RuntimeSchema = z
  .strictObject({
    backend: z
      .enum(BACKEND_CHOICES)
      .default('auto')
      .describe('tfjs backend; auto tries webgpu (hardware GPU adapters only), then tensorflow, then wasm, then cpu.'),
  })
  .describe('Execution environment.');

export const EvalSchema = z
  .strictObject({
    model: z.string().min(1).optional().describe('GGUF language model (llama) the activations came from. When set, the end of the run splices the dictionary into it and writes CE, ceLossScore, delta CE and KL into eval.json (`downstream`), as `sae eval --model` does. Relative to the config file.'),
    data: z.string().min(1).optional().describe('Token source for that evaluation: an Arrow file with token_id/doc_id/pos or a .txt file (one document per line). Default: the first data.eval file, else the first data.train file.'),
    hook: z.string().min(1).optional().describe("Hook to splice at (default: the data's metadata, e.g. blocks.2.hook_resid_post)."),
    context: z.number().int().min(2).default(256).describe('Tokens per window.'),
    maxTokens: z.number().int().positive().default(4096).describe('Evaluate about this many tokens.'),
    includeBos: z.boolean().default(false).describe('Splice and count BOS positions too (SAELens excludes them).'),
  })
  .describe('Downstream evaluation with the language model in the loop (optional).');

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path of the JSON schema, for editors.'),
    data: DataSchema,
    sae: SaeSchema.prefault({}),
    train: TrainSchema.prefault({}),
    resample: ResampleSchema.prefault({}),
    output: OutputSchema.prefault({}),
    runtime: RuntimeSchema.prefault({}),
    eval: EvalSchema.prefault({}),
  })
  .describe('sae training configuration.');

/** A config as written in a file (defaults optional). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** A validated config with every default filled in and data paths resolved. */
export type Config = z.output<typeof ConfigSchema>;
