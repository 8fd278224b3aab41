import nx from '@nx/eslint-plugin';

/** Boundaries from CONVENTIONS.md: the architecture is checked by `nx lint`, not by review alone. */
const infrastructureImports = ['@nestjs/*', 'kysely', 'pg', '@nats-io/*', 'nats', 'fastify', 'pino*'];

/** Tag rules from CONVENTIONS.md; specs may also use the test harness. */
function boundaries(inSpecs) {
  const testing = inSpecs ? ['type:testing'] : [];
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: infrastructureImports },
        { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', ...testing], bannedExternalImports: infrastructureImports },
        { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:contracts', ...testing] },
        { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:testing', 'type:adapter', 'type:domain', 'type:contracts'] },
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:contracts', ...testing] },
        { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:contracts', 'type:testing'] },
        { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
        ...['gateway', 'notebook', 'auth', 'execution', 'search', 'projection', 'tools'].map((scope) => ({
          sourceTag: `scope:${scope}`,
          onlyDependOnLibsWithTags: [`scope:${scope}`, 'scope:shared'],
        })),
      ],
    },
  ];
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/.nx', '**/tmp', '**/.data'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  {
    // Kysely's own rule: migrations take Kysely<any> and are frozen once merged.
    files: ['apps/*/migrations/**/*.ts', 'libs/**/*.migration.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Command-line tools talk to a terminal.
    files: ['tools/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
];
