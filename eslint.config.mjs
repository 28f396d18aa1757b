// `npm run lint`: typescript-eslint with type information over all of the project's TypeScript
// (application, tests, benchmarks). The recommended type-checked rules, less those that would
// bury the code in noise (noted below); the promise rules are the point.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'coverage/', '.stack/', 'data/', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its failure: `await` it, or `void` it where fire-and-forget is meant.
      '@typescript-eslint/no-floating-promises': 'error',
      // Not for callbacks passed as arguments: knex's where-callbacks return the builder, which is
      // thenable, and every knex query with a nested condition would be reported.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // Rows from knex and mysql2, JSON.parse and Temporal payloads are `any` by design: flagging
      // every use of them (about 650 places) would hide the findings that matter.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Async functions that implement an async interface (activities, commands) need no await.
      '@typescript-eslint/require-await': 'off',
      // require() inside a function loads a module only when it is needed, for start time (cli/main.ts).
      '@typescript-eslint/no-require-imports': 'off',
      // `_` names and `{ dropped: _, ...kept }` mark what is left out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
);
