using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace FineTuning.Testing.Fuzz;

/// <summary>
/// Runs a parser over seeded mutations of a seed input and checks the invariant every reader promises: the input is
/// accepted, or refused with one of the parser's typed exceptions; never another exception, never a hang (each input
/// has <see cref="FuzzSettings.TimeLimit"/>), never managed allocation out of proportion to the input. The number of
/// inputs is the test's default, or <c>FINETUNING_FUZZ_ITERATIONS</c> for a long run. A failure names the seed, the
/// iteration and the mutation, so the input can be rebuilt and committed as a regression test.
/// </summary>
public static class FuzzRunner
{
    /// <summary>The environment variable that sets the number of inputs per parser (long mode).</summary>
    public const string IterationsVariable = "FINETUNING_FUZZ_ITERATIONS";

    /// <summary>Inputs to try: <c>FINETUNING_FUZZ_ITERATIONS</c> when set, else <paramref name="defaultCount"/>.</summary>
    /// <param name="defaultCount">The bounded count used in ordinary test runs.</param>
    /// <returns>The count.</returns>
    public static int Iterations(int defaultCount)
    {
        string? value = Environment.GetEnvironmentVariable(IterationsVariable);
        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : defaultCount;
    }

    /// <summary>Runs the fuzz loop and returns the outcomes; throws <see cref="FuzzFailure"/> at the first broken invariant.</summary>
    /// <param name="settings">Name, seed, count, typed exceptions and limits.</param>
    /// <param name="mutate">Makes input i from a generator: the mutated bytes and a description.</param>
    /// <param name="parse">Runs the parser on the bytes (and uses the result, e.g. encodes a sample).</param>
    /// <returns>How many inputs were accepted and refused, by exception type.</returns>
    public static FuzzOutcome Run(FuzzSettings settings, Func<Random, (byte[] Input, string What)> mutate, Action<byte[]> parse)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(mutate);
        ArgumentNullException.ThrowIfNull(parse);
        var outcome = new FuzzOutcome(settings.Name);
        int count = Iterations(settings.DefaultIterations);
        for (int i = 0; i < count; i++)
        {
            var random = new Random(unchecked((settings.Seed * 1_000_003) + i)); // HashCode.Combine is randomized per process
            (byte[] input, string what) = mutate(random);
            string where = $"{settings.Name}, seed {settings.Seed}, iteration {i} ({what}), {input.Length} bytes";
            Exception? error = null;
            long allocated = 0;
            var task = Task.Factory.StartNew(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    parse(input);
                }
                catch (Exception e)
                {
                    error = e;
                }

                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!task.Wait(settings.TimeLimit)) throw new FuzzFailure($"{where}: still running after {settings.TimeLimit.TotalSeconds} s (a hang).", null);
            long limit = settings.AllocationBase + settings.AllocationPerInputByte * (long)input.Length;
            if (allocated > limit)
            {
                throw new FuzzFailure($"{where}: allocated {allocated:N0} managed bytes, more than the {limit:N0} allowed for this input.", error);
            }

            if (error is null)
            {
                outcome.Accepted++;
            }
            else if (settings.TypedExceptions.Any(t => t.IsInstanceOfType(error)))
            {
                outcome.Refuse(error.GetType());
            }
            else
            {
                throw new FuzzFailure($"{where}: {error.GetType().FullName} escaped the parser (expected {string.Join(" or ", settings.TypedExceptions.Select(t => t.Name))}): {error.Message}", error);
            }
        }

        return outcome;
    }
}
