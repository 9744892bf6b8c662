/** When the page scrolls the analysis views into sight: only when too little of them shows. */

/** Whether a section whose top edge lies `top` px below the viewport's top shows less than
 * half a viewport of itself (it starts in the lower half, or below the fold). A section the
 * user already scrolled to is left where it is; one above the viewport is not pulled back. */
export function startsTooLow(top: number, viewportHeight: number): boolean {
  return top > viewportHeight / 2;
}
