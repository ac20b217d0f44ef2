/**
 * Column names as words: `nameTokens` splits snake_case, kebab-case, camelCase, PascalCase and
 * digit-separated names into lower-case words, so `email`, `contactEmail`, `user_email_address`
 * and `EmailAddr` all contain the word `email`. Name patterns (`first name`, `dob`) match a
 * contiguous run of those words, never a substring: `temp` does not match `template`, and
 * `email` does not match `emailed_at` (another word). Also `closestName`, for "did you mean".
 */

/** The words of a name, lower-case: `contactEmail` → `contact email`, `HTTPServer2Addr` → `http server addr`. */
export const nameTokens = (name: string): Array<string> =>
  name
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, "$1 $2")
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1 $2")
    .split(/[^\p{L}]+/u)
    .filter((token) => token.length > 0)
    .map((token) => token.toLowerCase())

/**
 * Does a name (as tokens) contain the pattern's words in a row? A pattern is written like a name
 * (`date of birth`, `date_of_birth` and `dateOfBirth` are the same pattern).
 */
export const matchesNamePattern = (tokens: ReadonlyArray<string>, pattern: ReadonlyArray<string>): boolean => {
  if (pattern.length === 0) return false
  for (let start = 0; start + pattern.length <= tokens.length; start++) {
    if (pattern.every((word, offset) => tokens[start + offset] === word)) return true
  }
  return false
}

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(substitution, (previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** The candidate closest to `name` (case-insensitive edit distance), if it is close enough to be a typo. */
export const closestName = (name: string, candidates: Iterable<string>): string | undefined => {
  const wanted = name.toLowerCase()
  let best: { readonly candidate: string; readonly distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase())
    if (best === undefined || distance < best.distance) best = { candidate, distance }
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.candidate : undefined
}

/** ` (did you mean "x"?)`, or nothing when no candidate is close. */
export const didYouMean = (name: string, candidates: Iterable<string>): string => {
  const suggestion = closestName(name, candidates)
  return suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`
}
