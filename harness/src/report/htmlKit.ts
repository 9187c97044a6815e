/**
 * The pieces of the run report's HTML that other folders' pages reuse (the
 * nightly index, farm/nightlyIndex.ts): the one escaping function and the
 * stylesheet, so every page of the workbench escapes and looks the same.
 */
export { esc } from './html/escape.ts';
export { CSS } from './html/assets.ts';
