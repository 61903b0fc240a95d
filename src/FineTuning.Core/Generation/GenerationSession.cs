using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using FineTuning.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Generation;

/// <summary>
/// Token-level decoding of a batch of prompts, one <see cref="Step"/> per new token. Prompts are left-padded
/// (padding masked out, positions counted from each row's first real token) so that every row's next
/// token sits in the last column. Owns the KV cache and the sampling generator.
/// </summary>
internal sealed class GenerationSession : IDisposable
{
    private readonly ICausalLanguageModel model;
    private readonly GenerationOptions options;
    private readonly HashSet<long> stopIds;
    private readonly List<long>[] tokens;   // per row: left padding + prompt + generated
    private readonly List<long>[] masks;    // per row: 1 = real token, 0 = left padding
    private readonly KVCache? cache;
    private readonly Generator? generator;
    private readonly long padId;
    private readonly bool padded;
    private int steps;

    internal GenerationSession(ICausalLanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, IEnumerable<int> stopIds, long padId)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts given.", nameof(prompts));
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("a prompt has no tokens (give text or set AddBos).", nameof(prompts));
        this.model = model;
        this.options = options;
        this.padId = padId;
        this.stopIds = stopIds.Select(i => (long)i).ToHashSet();
        int width = prompts.Max(p => p.Count);
        padded = prompts.Any(p => p.Count != width);
        tokens = new List<long>[prompts.Count];
        Finished = new bool[prompts.Count];
        Generated = new List<int>[prompts.Count];
        StopTokens = new int?[prompts.Count];
        var rowMasks = new List<long>[prompts.Count];
        for (int r = 0; r < prompts.Count; r++)
        {
            int pad = width - prompts[r].Count;
            tokens[r] = Enumerable.Repeat(padId, pad).Concat(prompts[r].Select(i => (long)i)).ToList();
            rowMasks[r] = Enumerable.Repeat(0L, pad).Concat(Enumerable.Repeat(1L, prompts[r].Count)).ToList();
            Generated[r] = new List<int>();
        }

        Columns = width;
        masks = rowMasks;
        cache = options.UseCache ? model.CreateCache() : null;
        if (options.Temperature > 0)
        {
            ulong seed = options.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
            generator = new Generator(seed, model.Device);
        }
    }

    /// <summary>Rows that hit a stop token, were stopped by the caller, or ran out of tokens.</summary>
    internal bool[] Finished { get; }

    /// <summary>Generated ids per row, stop token excluded.</summary>
    internal List<int>[] Generated { get; }

    /// <summary>Per row, the stop token that ended it (when <see cref="GenerationOptions.IncludeStopToken"/> is set), else null.</summary>
    internal int?[] StopTokens { get; }

    private int Columns { get; set; }

    internal bool AllFinished => Finished.All(f => f) || steps >= options.MaxNewTokens;

    /// <summary>Marks <paramref name="row"/> as done (e.g. a stop string appeared); its later tokens are ignored.</summary>
    internal void Stop(int row) => Finished[row] = true;

    /// <summary>Generates one token for every unfinished row; returns false when nothing is left to do.</summary>
    internal bool Step()
    {
        if (AllFinished) return false;
        long[] next;
        using (var scope = torch.NewDisposeScope())
        using (var noGrad = torch.no_grad())
        {
            int rows = tokens.Length;
            bool incremental = cache is not null && steps > 0;
            int inputWidth = incremental ? 1 : Columns;
            var ids = new long[rows * inputWidth];
            for (int r = 0; r < rows; r++)
            {
                tokens[r].CopyTo(Columns - inputWidth, ids, r * inputWidth, inputWidth);
            }

            Device device = model.Device;
            Tensor input = torch.tensor(ids, new long[] { rows, inputWidth }, device: device);
            Tensor? attentionMask = padded
                ? torch.tensor(masks.SelectMany(m => m).ToArray(), new long[] { rows, Columns }, device: device)
                : null;
            Tensor logits = model.Forward(input, attentionMask, null, cache);
            Tensor last = logits.select(1, -1).AtLeastFloat32();
            options.LogitsObserver?.Invoke(last);
            next = TokenSampler.Choose(last, options, generator).cpu().data<long>().ToArray();
        }

        steps++;
        Columns++;
        for (int r = 0; r < tokens.Length; r++)
        {
            long id = Finished[r] ? padId : next[r];
            tokens[r].Add(id);
            masks[r].Add(1);
            if (Finished[r]) continue;
            if (stopIds.Contains(id))
            {
                Finished[r] = true;
                if (options.IncludeStopToken) StopTokens[r] = (int)id;
            }
            else
            {
                Generated[r].Add((int)id);
            }
        }

        return true;
    }

    /// <summary>Frees the cache and the generator.</summary>
    public void Dispose()
    {
        cache?.Dispose();
        generator?.Dispose();
    }
}
