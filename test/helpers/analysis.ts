/** Constructed Analysis reports with known numbers (for compare and budget tests). */
import { KINDS } from '../../src/catalog/kinds.js';
import type { Analysis, Kind } from '../../src/report/types.js';

export interface Spec {
  reference: string;
  imageBytes: number;
  compressedBytes?: number | null;
  wasteBytes?: number;
  efficiency?: number;
  kinds?: Partial<Record<Kind, number>>;
  owners?: Record<string, number>;
  steps?: Array<[string, number]>;
}

export function makeAnalysis(s: Spec): Analysis {
  const kinds = KINDS.map((kind) => ({ kind, bytes: s.kinds?.[kind] ?? 0, files: s.kinds?.[kind] ? 1 : 0 }));
  const finalBytes = kinds.reduce((a, k) => a + k.bytes, 0);
  const owners = Object.entries(s.owners ?? { unowned: finalBytes }).map(([owner, bytes]) => ({
    owner,
    manager: (owner === 'unowned' ? 'unowned' : owner.split(':')[0]) as Analysis['owners'][number]['manager'],
    name: owner.split(':').pop()!,
    bytes,
    files: 1,
    kinds: {},
  }));
  const steps = s.steps ?? [['RUN build', s.imageBytes]];
  return {
    schemaVersion: 1,
    tool: { name: 'imgscope', version: '0.0.0' },
    generatedAt: '2026-01-01T00:00:00.000Z',
    image: {
      reference: s.reference, transport: 'docker-daemon', tags: [s.reference], configDigest: `sha256:${'0'.repeat(64)}`, platform: 'linux/amd64',
      user: '', workingDir: '', entrypoint: [], cmd: [], env: [], labels: {}, exposedPorts: [], healthcheck: null,
    },
    totals: {
      imageBytes: s.imageBytes, compressedBytes: s.compressedBytes === undefined ? Math.round(s.imageBytes / 3) : s.compressedBytes,
      finalBytes, wasteBytes: s.wasteBytes ?? 0, efficiency: s.efficiency ?? 1, diveWastedBytes: 0, files: 1, layers: steps.length,
    },
    kinds,
    owners,
    layers: steps.map(([createdBy, bytes], index) => ({
      index, compression: 'none', compressedBytes: null, bytes, tarBytes: bytes, files: 1, visibleBytes: bytes, wasteBytes: 0, whiteouts: 0, createdBy, topKinds: [], topOwners: [],
    })),
    history: steps.map(([createdBy], i) => ({ createdBy, emptyLayer: false, layer: i })),
    evidence: { caches: [], models: [], cudaLibraries: [], sensitive: [], os: { id: 'debian', versionId: '12', libc: 'glibc' } },
    findings: [],
    waste: { bytes: s.wasteBytes ?? 0, topPaths: [] },
    warnings: [],
  };
}
