/** @type {import('jest').Config} */
module.exports = {
  displayName: 'user-domain',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
