// Dev secrets live on the Linux dev box (Unix file modes).
#pragma warning disable CA1416
using Payrail.DevEnvironment;
using Xunit;

namespace Payrail.Tests.Infrastructure;

public sealed class DevSecretsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"payrail-secrets-{Guid.NewGuid():N}");

    [Fact]
    public void A_secret_is_generated_once_then_read_back()
    {
        var secrets = new DevSecrets(_directory);

        var first = secrets.GetOrCreate("postgres-password");
        var second = new DevSecrets(_directory).GetOrCreate("postgres-password");

        Assert.Equal(first, second);
        Assert.Equal(64, first.Length);
        Assert.NotEqual(first, secrets.GetOrCreate("redis-password"));
    }

    [Fact]
    public void Secret_files_are_readable_by_their_owner_only()
    {
        new DevSecrets(_directory).GetOrCreate("jwt-signing-key");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, "jwt-signing-key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory));
    }

    [Fact]
    public void Secret_names_cannot_escape_the_secrets_folder()
    {
        Assert.Throws<ArgumentException>(() => new DevSecrets(_directory).GetOrCreate("../escape"));
    }

    [Fact]
    public void A_missing_secret_reads_as_null()
    {
        Assert.Null(new DevSecrets(_directory).TryRead("never-created"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
