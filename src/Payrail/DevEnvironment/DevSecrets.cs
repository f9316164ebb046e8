// The local platform runs on Linux (Debian's PostgreSQL and Redis): Unix file modes are always available.
#pragma warning disable CA1416
using System.Security.Cryptography;

namespace Payrail.DevEnvironment;

/// <summary>
/// Secrets of the local development platform (database and Redis passwords, signing keys), one file
/// each in `.payrail/secrets/` (mode 600, directory mode 700, git-ignored). Generated on first use,
/// read afterwards. Values are never printed: callers pass them straight into connection settings.
/// </summary>
public sealed class DevSecrets(string directory)
{
    private const int MaxNameLength = 64;

    public string Directory { get; } = directory;

    /// <summary>The project's secrets: `.payrail/secrets/` under the project root.</summary>
    public static DevSecrets ForProject() => new(Path.Combine(PayrailConfiguration.StateDirectory, "secrets"));

    /// <summary>Returns the secret called <paramref name="name"/>, generating <paramref name="bytes"/> random bytes (hex) if it does not exist yet.</summary>
    public string GetOrCreate(string name, int bytes = 32)
    {
        var path = PathOf(name);
        if (File.Exists(path)) return Read(path);

        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
        try
        {
            // CreateNew: two processes starting at once must agree on one value, so the loser reads the winner's file.
            using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            using var writer = new StreamWriter(stream);
            writer.Write(value);
            return value;
        }
        catch (IOException) when (File.Exists(path))
        {
            return Read(path);
        }
    }

    /// <summary>
    /// Keeps a secret someone else issued (e.g. the PSP's webhook signing secret), replacing the file whole: written to a
    /// temporary file (mode 600) and renamed over the old one, so a reader never sees half of it.
    /// </summary>
    public void Set(string name, string value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("a secret is never blank", nameof(value));
        var path = PathOf(name);
        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = path + ".tmp-" + Environment.ProcessId;
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(value);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The secret called <paramref name="name"/>, or null when it was never generated.</summary>
    public string? TryRead(string name)
    {
        var path = PathOf(name);
        return File.Exists(path) ? Read(path) : null;
    }

    private string PathOf(string name)
    {
        if (name.Length is 0 or > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException("secret names are 1-64 characters of [A-Za-z0-9_-]", nameof(name));
        return Path.Combine(Directory, name);
    }

    private static string Read(string path)
    {
        var value = File.ReadAllText(path).Trim();
        if (value.Length == 0) throw new InvalidOperationException($"secret file {path} is empty; delete it to regenerate");
        return value;
    }
}
