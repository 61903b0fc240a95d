using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>A configuration that did not produce a result, with what its process wrote to stderr.</summary>
internal sealed record Failure(string Task, string Config, string Reason, string Stderr);

/// <summary>
/// The parent side: starts this program again once per task and configuration (<c>--task T --config C</c>), forwards
/// each child's output, collects the <c>RESULT</c> lines, and turns them into the report.
/// </summary>
internal static class Parent
{
    public static int Run(IReadOnlyList<IComparisonTask> tasks, bool smoke, string? outPath, string reports, string commandLine)
    {
        var machine = Machine.Describe();
        var sections = new List<(IComparisonTask Task, IReadOnlyList<ConfigResult> Results)>();
        var failures = new List<Failure>();
        foreach (IComparisonTask task in tasks)
        {
            string? unavailable = task.Unavailable();
            if (unavailable is not null)
            {
                Console.Error.WriteLine($"{task.Name}: not run: {unavailable}");
                failures.Add(new Failure(task.Name, "(all)", unavailable, string.Empty));
                continue;
            }
            var results = new List<ConfigResult>();
            foreach (Configuration configuration in Configuration.All)
            {
                results.Add(RunChild(task, configuration, smoke, reports, failures));
            }
            sections.Add((task, results));
        }
        machine = machine.Finished();

        string markdown = Report.Markdown(sections, failures, machine, smoke, commandLine);
        Console.WriteLine();
        Console.WriteLine(markdown);
        if (outPath is not null)
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(outPath));
            if (directory is not null) Directory.CreateDirectory(directory);
            File.WriteAllText(outPath, markdown);
            Console.WriteLine($"written to {outPath}");
        }
        Console.WriteLine();
        foreach (ConfigResult r in sections.SelectMany(s => s.Results).Where(r => r.ReportPath is not null))
            Console.WriteLine($"Report {r.Task}/{r.Config}: {r.ReportPath}");
        foreach (Failure f in failures)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"FAILED {f.Task}/{f.Config}: {f.Reason}");
            if (f.Stderr.Length > 0) Console.Error.WriteLine(f.Stderr.TrimEnd());
        }
        return failures.Count == 0 ? 0 : 1;
    }

    private static ConfigResult RunChild(IComparisonTask task, Configuration configuration, bool smoke, string reports, List<Failure> failures)
    {
        string tag = $"[{task.Name}/{configuration.Name}]";
        Console.WriteLine();
        Console.WriteLine($"{tag} starting: {configuration.Description}");
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program's executable is unknown."),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Started as `dotnet QLoRAComparison.dll`: the host needs the assembly again.
        if (string.Equals(Path.GetFileNameWithoutExtension(start.FileName), "dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(EntryAssemblyPath());
        foreach (string a in new[] { "--task", task.Name, "--config", configuration.Name, "--reports", reports }) start.ArgumentList.Add(a);
        if (smoke) start.ArgumentList.Add("--smoke");

        ConfigResult? result = null;
        string? badResultLine = null;
        var stderr = new StringBuilder();
        var gate = new object();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            if (e.Data.StartsWith(ConfigResult.LinePrefix, StringComparison.Ordinal))
            {
                try
                {
                    result = JsonSerializer.Deserialize<ConfigResult>(e.Data[ConfigResult.LinePrefix.Length..]);
                }
                catch (JsonException)
                {
                    badResultLine = e.Data;
                }
                return;
            }
            lock (gate) Console.WriteLine($"{tag} {e.Data}");
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (gate)
            {
                stderr.AppendLine(e.Data);
                Console.WriteLine($"{tag} stderr: {e.Data}");
            }
        };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit(); // without a timeout this also waits for the end of both redirected streams
        Console.WriteLine($"{tag} exit code {process.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s");

        string? reason = result?.Error
            ?? (badResultLine is not null ? $"unreadable result line: {badResultLine}"
                : result is null ? $"exit code {process.ExitCode} without a result line"
                : process.ExitCode != 0 ? $"exit code {process.ExitCode}" : null);
        if (reason is null) return result!;
        failures.Add(new Failure(task.Name, configuration.Name, reason, stderr.ToString()));
        return (result ?? new ConfigResult { Task = task.Name, Config = configuration.Name }) with { Error = reason };
    }

    private static string EntryAssemblyPath()
    {
        string? location = Assembly.GetEntryAssembly()?.Location;
        return string.IsNullOrEmpty(location) ? Environment.GetCommandLineArgs()[0] : location;
    }
}
