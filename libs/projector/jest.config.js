/** @type {import('jest').Config} */
module.exports = {
  displayName: 'projector',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
