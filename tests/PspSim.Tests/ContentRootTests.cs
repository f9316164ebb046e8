using Xunit;

namespace PspSim.Tests;

/// <summary>
/// pspsim's content root is its own folder, not the directory it runs in. `up` runs it in the project, where PostgreSQL
/// and pspsim's journal write: the configuration's file watcher over the working directory took an event for every one of
/// those writes (3 % of all CPU samples during `bench reconcile`). Alone in its collection: it moves the process's
/// working directory.
/// </summary>
[Collection(Name)]
public sealed class ContentRootTests
{
    public const string Name = "working directory";

    [Fact]
    public async Task The_content_root_is_pspsims_own_folder_whatever_the_working_directory()
    {
        var runIn = Directory.CreateTempSubdirectory("pspsim-cwd-").FullName;
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(runIn);
        try
        {
            await using var app = PspSimApp.Build(["--data-dir", Path.Combine(runIn, "data")]);
            Assert.Equal(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory),
                Path.TrimEndingDirectorySeparator(app.Environment.ContentRootPath));
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(runIn, recursive: true);
        }
    }
}

[CollectionDefinition(ContentRootTests.Name, DisableParallelization = true)]
public sealed class WorkingDirectoryCollection;
