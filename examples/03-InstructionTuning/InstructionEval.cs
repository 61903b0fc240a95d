using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Data;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using TorchSharp;

namespace FineTuning.Examples.InstructionTuning;

/// <summary>How often greedy answers to held-out requests follow the format.</summary>
/// <param name="Format">Share of answers whose first line is some "Title: ..." line.</param>
/// <param name="Title">Share of answers that start with exactly the expected title line.</param>
/// <param name="Sample">The first request and its answer, for the console.</param>
internal sealed record FollowRate(double Format, double Title, string Sample);

/// <summary>The example's two quality measures, shared with examples/05-QLoRAComparison.</summary>
internal static class InstructionEval
{
    /// <summary>Greedy answers (24 tokens) to the held-out requests, prompted exactly as in training (segment-wise ids + assistant header).</summary>
    public static FollowRate Follow(LlamaForCausalLM model, ITokenizer tokenizer, InstructionData data)
    {
        model.eval();
        var generator = new TextGenerator(model, tokenizer);
        IReadOnlyList<ChatExample> heldOut = data.Split.Validation;
        var requests = heldOut.Select(c => new ChatExample(c.Messages.Where(m => m.Role == ChatRole.User))).ToList();
        var prompts = requests.Select(data.Labeler.TokenizePrompt).ToList();
        IReadOnlyList<IReadOnlyList<int>> outputs = generator.GenerateIds(prompts, new GenerationOptions { MaxNewTokens = 24 });
        var texts = outputs.Select(o => tokenizer.Decode(o)).ToList();
        int format = texts.Count(t => Regex.IsMatch(t, @"^Title: [^\n]+\n"));
        int exact = heldOut.Zip(texts).Count(p => p.Second.StartsWith(p.First.Messages[^1].Content.Split('\n')[0] + "\n", StringComparison.Ordinal));
        string sample = $"\"{requests[0].Messages[0].Content}\" -> \"{texts[0].Replace("\n", "\\n", StringComparison.Ordinal)}...\"";
        return new FollowRate((double)format / texts.Count, (double)exact / texts.Count, sample);
    }

    /// <summary>Perplexity of the handwritten held-out stories (exp of the mean token loss).</summary>
    public static double Perplexity(LlamaForCausalLM model, InstructionData data)
    {
        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var objective = new CausalLMObjective();
        double summed = objective.SummedLoss(model, data.HeldOutText, torch.CPU).to(torch.ScalarType.Float64).item<double>();
        return Math.Exp(summed / objective.CountTargets(data.HeldOutText));
    }
}
