using Microsoft.Playwright;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// One headless Debian chromium per test class, driven by Playwright (its own browser download is not available here,
/// so the system binary is launched by path). Each test opens its own context: its own cookies, a fresh profile.
/// Screenshots go to <c>.payrail/test-results/screenshots/</c>, which `./test` keeps.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ScreenshotDirectory =>
        Path.Combine(Payrail.PayrailConfiguration.StateDirectory, "test-results", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: scripts/provision.sh installs Debian's chromium (./test runs it)");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Playwright adds a fresh temporary --user-data-dir of its own to every launch.
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    public async Task<IBrowserContext> NewContextAsync(int width = 1280, int height = 800) =>
        await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
