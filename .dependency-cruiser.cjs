/**
 * The hub's layers, lowest first. Data flows one way — Kafka → connectors → sync → golden store → risk →
 * services → GraphQL — and a module may import only from its own layer or the layers below it. `ingest`,
 * `risk` and `programme` are siblings above sync that never import each other: only the composition root
 * (`runtime`) wires them together. See docs/architecture.md.
 */
const layers = [
  ['domain'],
  ['config', 'observability', 'files'],
  ['messaging', 'auth', 'model'],
  ['db'],
  ['connectors'],
  ['sync', 'demo'],
  ['relations'],
  ['ingest', 'risk', 'programme'],
  ['services'],
  ['resolvers'],
  ['runtime'],
  ['cli'],
];
const below = (i) => layers.slice(0, i).flat();
const folderRe = (names) => `^src/(${names.join('|')})/`;
const allFolders = layers.flat();

const upward = layers.flatMap((group, i) => {
  const allowed = [...below(i), ...group];
  return group.map((name) => ({
    name: `layer-${name}`,
    comment: `src/${name} may import only from: ${allowed.join(', ')} (and src/generated for the API types)`,
    severity: 'error',
    from: { path: `^src/${name}/` },
    to: { path: '^src/', pathNot: [folderRe(allowed), '^src/generated/'] },
  }));
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles hide the direction of the data flow.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'siblings-ingest-risk-programme',
      comment:
        'ingest, risk and the customer programme do not know each other; runtime wires them (queue hooks, worker wake-ups, outbox).',
      severity: 'error',
      from: { path: '^src/(ingest|risk|programme)/' },
      to: { path: '^src/(ingest|risk|programme)/', pathNot: '^src/$1/' },
    },
    {
      name: 'known-folder',
      comment: 'Every folder of src/ has a place in the layer list (.dependency-cruiser.cjs).',
      severity: 'error',
      from: { path: '^src/', pathNot: [folderRe(allFolders), '^src/generated/'] },
      to: {},
    },
    {
      name: 'generated-only-for-api',
      comment: 'The generated GraphQL types belong to the API layer.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(resolvers|services|generated)/' },
      to: { path: '^src/generated/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|tests|bench|scripts|migrations)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
