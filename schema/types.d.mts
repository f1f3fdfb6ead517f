/** Types of schema/types.mjs (the generator of src/report/types.ts), for the tests that import it. */
export declare const TYPES: URL;
export declare function generateReportTypes(): Promise<string>;
