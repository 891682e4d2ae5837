// The asciichart package ships no types; this declares the one function and the options we use.
declare module 'asciichart' {
  export interface PlotConfig {
    /** Rows of the chart, besides the first. */
    height?: number;
    min?: number;
    max?: number;
    /** Columns before the axis for the labels (the label takes one cell, however long it is). */
    offset?: number;
    padding?: string;
    /** Formats the axis label of a row: value and row index. */
    format?: (value: number, row: number) => string;
    colors?: string[];
    symbols?: string[];
  }

  /** One series or several; every point is one column. */
  export function plot(series: number[] | number[][], config?: PlotConfig): string;

  const asciichart: { plot: typeof plot };
  export default asciichart;
}
