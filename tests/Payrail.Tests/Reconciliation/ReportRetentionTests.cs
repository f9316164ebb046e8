using Payrail.Reconciliation;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>Old reports are deleted, a bounded number at a time; nothing else in the folder is.</summary>
public sealed class ReportRetentionTests
{
    [Fact]
    public void Reports_and_temporary_files_written_before_the_cut_are_deleted_at_most_a_hundred_at_a_time()
    {
        var directory = Directory.CreateTempSubdirectory("payrail-report-retention-").FullName;
        try
        {
            var cut = DateTime.UtcNow.AddDays(-90);
            var old = new List<string>();
            for (var run = 1; run <= ReportFiles.MaxPrunedPerRun / 2 + 1; run++)
            {
                old.Add(Write(directory, $"reconciliation-stripe-20250101T000000Z-20250102T000000Z-run{run}.csv", cut.AddDays(-1)));
                old.Add(Write(directory, $"reconciliation-stripe-20250101T000000Z-20250102T000000Z-run{run}.json", cut.AddDays(-1)));
            }
            old.Add(Write(directory, "reconciliation-stripe-20250103T000000Z-20250104T000000Z-run999.csv.tmp", cut.AddMinutes(-1)));
            var kept = new[]
            {
                Write(directory, "reconciliation-stripe-20260101T000000Z-20260102T000000Z-run1000.csv", cut.AddMinutes(1)),
                Write(directory, "reconciliation-stripe-20260101T000000Z-20260102T000000Z-run1000.json.tmp", DateTime.UtcNow),
                Write(directory, "notes.csv", cut.AddDays(-400)),
                Write(directory, "reconciliation-stripe-readme.txt", cut.AddDays(-400)),
            };

            Assert.Equal(ReportFiles.MaxPrunedPerRun, ReportFiles.Prune(directory, cut));
            Assert.Equal(old.Count - ReportFiles.MaxPrunedPerRun, old.Count(File.Exists));
            Assert.Equal(old.Count - ReportFiles.MaxPrunedPerRun, ReportFiles.Prune(directory, cut));
            Assert.DoesNotContain(old, File.Exists);
            Assert.All(kept, path => Assert.True(File.Exists(path), path));
            Assert.Equal(0, ReportFiles.Prune(directory, cut));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Write(string directory, string name, DateTime lastWriteUtc)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, "x");
        File.SetLastWriteTimeUtc(path, lastWriteUtc);
        return path;
    }
}
