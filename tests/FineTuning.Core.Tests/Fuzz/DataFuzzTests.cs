using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using FineTuning.Adapters;
using FineTuning.Checkpoints;
using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Testing;
using FineTuning.Testing.Fuzz;
using FineTuning.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Core.Tests.Fuzz;

/// <summary>Seeded mutations of data files, trainer_state.json and quantization_config.json through their readers.</summary>
public sealed class DataFuzzTests(ITestOutputHelper output)
{
    /// <summary>Two valid records per built-in format (the seed files).</summary>
    public static TheoryData<string> Formats() => new(Seeds.Keys);

    private static readonly Dictionary<string, string[]> Seeds = new(StringComparer.Ordinal)
    {
        ["text"] = ["""{"text": "Once upon a time"}""", """{"text": "there was a fox"}"""],
        ["prompt-completion"] = ["""{"prompt": "2+2=", "completion": "4"}""", """{"prompt": "Capital of France?", "completion": "Paris"}"""],
        ["alpaca"] = ["""{"instruction": "Add", "input": "2 and 2", "output": "4"}""", """{"instruction": "Greet", "output": "Hello"}"""],
        ["openai-chat"] = ["""{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 1}]}""",
            """{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}"""],
        ["sharegpt"] = ["""{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}""",
            """{"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]}"""],
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void DataReaderRead_MutatedJsonLines_AcceptsOrThrowsDataFormatException(string format)
    {
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings($"JSONL data ({format})", 21, 150, typeof(DataFormatException)),
            FuzzInputs.JsonLines(string.Join("\n", Seeds[format])),
            bytes => ReadAll(format, bytes));
        output.WriteLine(outcome.ToString());
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void DataReaderRead_MutatedJsonArray_AcceptsOrThrowsDataFormatException(string format)
    {
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings($"JSON array data ({format})", 22, 150, typeof(DataFormatException)),
            FuzzInputs.Json("[\n" + string.Join(",\n", Seeds[format]) + "\n]"),
            bytes => ReadAll(format, bytes));
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void TrainerStateRead_Mutated_AcceptsOrThrowsCheckpointException()
    {
        var state = new TrainerState(3, 10, 42, 0,
            [new StepMetrics(1, 0, 2.5, 1e-3, 0.7, 12, 2, TimeSpan.FromMilliseconds(15)), new StepMetrics(2, 0, 2.25, 9e-4, 0.6, 12, 2, TimeSpan.FromMilliseconds(14))],
            [new EvaluationMetrics(2, 2.4, 24)]);
        string seed = JsonSerializer.Serialize(state);
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("trainer_state.json", 23, 300, typeof(CheckpointException)),
            FuzzInputs.Json(seed),
            bytes => TrainerState.Read(folder.Write("trainer_state.json", bytes)));
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void QuantizationConfigFileRead_Mutated_AcceptsOrThrowsModelFileException()
    {
        const string seed = """{"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true, "bnb_4bit_compute_dtype": "float32", "blocksize": 64, "quantized_modules": ["model.layers.0.self_attn.q_proj", "model.layers.0.mlp.up_proj"]}""";
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("quantization_config.json", 24, 300, typeof(ModelFileException)),
            FuzzInputs.Json(seed),
            bytes => QuantizationConfigFile.Read(folder.Write("quantization_config.json", bytes)));
        output.WriteLine(outcome.ToString());
    }

    private static void ReadAll(string format, byte[] bytes)
    {
        using var reader = new StringReader(Encoding.UTF8.GetString(bytes));
        _ = format switch
        {
            "text" => DataReader.Read(reader, "fuzz.jsonl", RecordFormats.Text).Count(),
            "prompt-completion" => DataReader.Read(reader, "fuzz.jsonl", RecordFormats.PromptCompletion).Count(),
            "alpaca" => DataReader.Read(reader, "fuzz.jsonl", RecordFormats.Alpaca).Count(),
            "openai-chat" => DataReader.Read(reader, "fuzz.jsonl", RecordFormats.OpenAIChat).Count(),
            _ => DataReader.Read(reader, "fuzz.jsonl", RecordFormats.ShareGpt).Count(),
        };
    }
}
