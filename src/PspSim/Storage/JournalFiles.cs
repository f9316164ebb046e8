using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PspSim.Storage;

/// <summary>
/// The data dir's files: <c>journal.jsonl</c> (generation 0), <c>journal.N.jsonl</c>, <c>snapshot.N.jsonl</c> and a
/// compaction's <c>snapshot.N.jsonl.tmp</c>. Snapshot N holds the live state as of the moment appends moved to journal N
/// (or later versions of some objects: every later version is in journal N too, so replaying it after wins). State is
/// the newest snapshot S plus every journal from generation S on, in order; a temp file is a compaction that never
/// finished and is ignored. So a crash at any step of a compaction loses nothing: before the rename, snapshot S-1 and
/// journals S-1, S are all still there; after it, snapshot S and journal S are.
/// </summary>
public static partial class JournalFiles
{
    public const string FirstJournal = "journal.jsonl";
    public const string TempSuffix = ".tmp";

    public static string JournalPath(string dataDir, long generation) =>
        Path.Combine(dataDir, generation == 0 ? FirstJournal : $"journal.{generation.ToString(CultureInfo.InvariantCulture)}.jsonl");

    public static string SnapshotPath(string dataDir, long generation) =>
        Path.Combine(dataDir, $"snapshot.{generation.ToString(CultureInfo.InvariantCulture)}.jsonl");

    [GeneratedRegex(@"^(journal|snapshot)\.(\d{1,18})\.jsonl(\.tmp)?$")]
    private static partial Regex Numbered();

    private sealed record Found(string Kind, long Generation, bool Temp, string Path);

    private static List<Found> List(string dataDir)
    {
        var found = new List<Found>();
        foreach (var path in Directory.EnumerateFiles(dataDir))
        {
            var name = Path.GetFileName(path);
            if (name == FirstJournal) found.Add(new Found("journal", 0, false, path));
            else if (Numbered().Match(name) is { Success: true } m)
                found.Add(new Found(m.Groups[1].Value, long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), m.Groups[3].Success, path));
        }
        return found;
    }

    /// <summary>Generation of the newest complete snapshot (0 when there is none: generation 0 has no snapshot).</summary>
    public static long NewestSnapshot(string dataDir) =>
        List(dataDir).Where(f => f.Kind == "snapshot" && !f.Temp).Select(f => f.Generation).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Replays the newest snapshot and the journals from its generation on; deletes what they supersede (older files,
    /// temp files of unfinished compactions). Returns the generation to append to (the newest journal's).
    /// </summary>
    public static long Replay(string dataDir, Action<string, JsonElement> replay)
    {
        Directory.CreateDirectory(dataDir);
        var files = List(dataDir);
        var snapshot = files.Where(f => f.Kind == "snapshot" && !f.Temp).Select(f => f.Generation).DefaultIfEmpty(0).Max();
        if (snapshot > 0) Journal.ReadLines(SnapshotPath(dataDir, snapshot), replay);
        var journals = files.Where(f => f.Kind == "journal" && f.Generation >= snapshot).OrderBy(f => f.Generation).ToList();
        foreach (var journal in journals) Journal.ReadLines(journal.Path, replay);
        DeleteSuperseded(dataDir, snapshot, includeTemp: true);
        return journals.Count > 0 ? journals[^1].Generation : snapshot;
    }

    /// <summary>Deletes journals and snapshots older than <paramref name="snapshot"/> (their content is in it).</summary>
    public static void DeleteSuperseded(string dataDir, long snapshot, bool includeTemp)
    {
        foreach (var f in List(dataDir))
        {
            if (f.Temp ? includeTemp : f.Generation < snapshot) File.Delete(f.Path);
        }
    }

    /// <summary>The files whose lines snapshot <paramref name="generation"/> replaces: the previous snapshot and older journals.</summary>
    internal static IEnumerable<string> Superseded(string dataDir, long generation) =>
        List(dataDir).Where(f => !f.Temp && f.Generation < generation).OrderBy(f => f.Kind == "journal").ThenBy(f => f.Generation).Select(f => f.Path);
}
