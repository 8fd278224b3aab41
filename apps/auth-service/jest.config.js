/** @type {import('jest').Config} */
module.exports = {
  displayName: 'auth-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
