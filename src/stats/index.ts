export { createRng, type Rng } from './rng.js';
export { inverseNormalCdf, zForConfidence } from './normal.js';
export { wilsonInterval } from './wilson.js';
export { mcnemarExact } from './mcnemar.js';
export { newcombePairedInterval, pairedCounts, type PairedCounts } from './newcombe.js';
export { pairedBootstrap, type BootstrapOptions, type BootstrapResult } from './bootstrap.js';
export { agreement, winRate, outcomeScore, type AgreementResult, type WinRate, type PairwiseOutcome } from './agreement.js';
