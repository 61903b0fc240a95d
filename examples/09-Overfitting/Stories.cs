namespace FineTuning.Examples.Overfitting;

/// <summary>
/// Handwritten short stories in the TinyStories style (written for this example, no licence needed). The training set
/// is tiny on purpose: a few stories the model can memorise, so that its validation loss on other stories soon rises.
/// </summary>
internal static class Stories
{
    public static readonly string[] Train =
    {
        "Once upon a time, a purple robot named Zib lived on the moon. Zib liked to paint the rocks green. One day Zib painted a rock that sang a song.",
        "Tom had a tiny blue boat. He sailed it in the bath every night. The boat met a rubber duck, and they became best friends.",
        "A little owl could not sleep in the day. She counted the stars instead. When the sun came up, she yawned and said good night to the moon.",
        "Mia found a golden key under her bed. It opened a door in the tree outside. Inside the tree was a tea party for ants.",
    };

    public static readonly string[] Validation =
    {
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her ball.",
        "One day, a boy named Ben saw a big dog. The dog was happy and wagged its tail. Ben gave the dog a hug.",
        "Sue and her mom went to the store. They bought apples and bread. Sue helped carry the bag home.",
        "The cat sat on the mat. It was warm and sunny. The cat closed its eyes and took a long nap.",
        "Tim wanted to fly a kite. He ran fast in the wind, and the kite went up high in the sky. Tim smiled.",
        "Anna had a red hat. She wore it every day. One day the wind took the hat, and her friend Max ran to get it back.",
    };
}
