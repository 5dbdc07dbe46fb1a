import { api } from '../api.js'
import { useAsync } from '../components.js'

/** How the repository's format lays its content out (its console descriptor's hints), above the tree. */
export function BrowseHints({ repoKey }: { repoKey: string }) {
  const { value: hints } = useAsync(async () => {
    const [repository, formats] = await Promise.all([api.repository(repoKey), api.formats()])
    return formats.find((f) => f.id === repository.packageType)?.console?.browseHints ?? []
  }, [repoKey])
  if (!hints || hints.length === 0) return null
  return (
    <p className="muted browse-hints">
      {hints.map((hint, i) => (
        <span key={i}>{hint} </span>
      ))}
    </p>
  )
}
