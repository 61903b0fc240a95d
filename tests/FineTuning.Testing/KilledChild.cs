using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;

namespace FineTuning.Testing;

/// <summary>
/// Runs tests/FineTuning.FaultChild (copied next to the test assembly by its project reference) with
/// <c>dotnet FineTuning.FaultChild.dll</c>, waits until it prints "ready", lets it work for a given time and kills it
/// with SIGKILL (no cleanup code runs, as in a crash or an OOM kill).
/// </summary>
public sealed class KilledChild
{
    private KilledChild(IReadOnlyList<string> lines, bool exitedByItself, int exitCode)
    {
        Lines = lines;
        ExitedByItself = exitedByItself;
        ExitCode = exitCode;
    }

    /// <summary>What the child printed before it died, line by line.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>True when the child ended before the kill (it finished or failed).</summary>
    public bool ExitedByItself { get; }

    /// <summary>The exit code (137-like values or -1 after a kill).</summary>
    public int ExitCode { get; }

    /// <summary>The numbers n of the "saved n" lines.</summary>
    public IEnumerable<long> Saved =>
        Lines.Where(l => l.StartsWith("saved ", StringComparison.Ordinal)).Select(l => long.Parse(l.AsSpan(6), provider: System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Starts the child with <paramref name="arguments"/> and kills it <paramref name="after"/> its "ready" line.</summary>
    public static KilledChild Run(TimeSpan after, params string[] arguments)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "FineTuning.FaultChild.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("The test project should reference tests/FineTuning.FaultChild, which copies it here.", dll);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (string a in arguments) info.ArgumentList.Add(a);
        var lines = new List<string>();
        var errors = new List<string>();
        using var ready = new ManualResetEventSlim();
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
            if (e.Data == "ready") ready.Set();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (errors) errors.Add(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool exited;
        try
        {
            if (!ready.Wait(TimeSpan.FromSeconds(60)) && !process.HasExited)
                throw new TimeoutException("The child did not print \"ready\" within 60 s.");
            exited = process.WaitForExit(after);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true); // SIGKILL on Unix
            process.WaitForExit();
        }
        if (exited && process.ExitCode != 0)
            throw new InvalidOperationException($"The child failed with exit code {process.ExitCode}: {string.Join(Environment.NewLine, errors)}");
        lock (lines) return new KilledChild(lines.ToArray(), exited, process.ExitCode);
    }
}
