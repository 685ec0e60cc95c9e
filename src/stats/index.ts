export { createRng, type Rng } from './rng.js';
export { inverseNormalCdf, normalCdf, zForConfidence } from './normal.js';
export { crossingProbabilities, groupSequentialBoundaries, lookSizes, type BoundaryShape, type SequentialBoundaries } from './sequential.js';
export { wilsonInterval } from './wilson.js';
export { mcnemarExact } from './mcnemar.js';
export { newcombePairedInterval, pairedCounts, type PairedCounts } from './newcombe.js';
export { pairedBootstrap, type BootstrapOptions, type BootstrapResult } from './bootstrap.js';
export { agreement, winRate, outcomeScore, type AgreementResult, type WinRate, type PairwiseOutcome } from './agreement.js';
