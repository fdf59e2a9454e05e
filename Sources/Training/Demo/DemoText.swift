/// The text the built-in demo trains on: public-domain English (Lincoln's Gettysburg Address,
/// Shakespeare's Sonnets 18 and 116, and fables of Aesop in the old English translations).
/// Small enough to bundle, varied enough that the loss curve means something.
enum DemoText {
    static let paragraphs: [String] = [
        """
        Four score and seven years ago our fathers brought forth on this continent, a new nation, \
        conceived in Liberty, and dedicated to the proposition that all men are created equal.
        """,
        """
        Now we are engaged in a great civil war, testing whether that nation, or any nation so \
        conceived and so dedicated, can long endure. We are met on a great battle-field of that war. \
        We have come to dedicate a portion of that field, as a final resting place for those who here \
        gave their lives that that nation might live. It is altogether fitting and proper that we \
        should do this.
        """,
        """
        But, in a larger sense, we can not dedicate -- we can not consecrate -- we can not hallow -- \
        this ground. The brave men, living and dead, who struggled here, have consecrated it, far above \
        our poor power to add or detract. The world will little note, nor long remember what we say \
        here, but it can never forget what they did here. It is for us the living, rather, to be \
        dedicated here to the unfinished work which they who fought here have thus far so nobly \
        advanced. It is rather for us to be here dedicated to the great task remaining before us -- \
        that from these honored dead we take increased devotion to that cause for which they gave the \
        last full measure of devotion -- that we here highly resolve that these dead shall not have \
        died in vain -- that this nation, under God, shall have a new birth of freedom -- and that \
        government of the people, by the people, for the people, shall not perish from the earth.
        """,
        """
        Shall I compare thee to a summer's day? Thou art more lovely and more temperate: Rough winds \
        do shake the darling buds of May, And summer's lease hath all too short a date; Sometime too \
        hot the eye of heaven shines, And often is his gold complexion dimm'd; And every fair from fair \
        sometime declines, By chance or nature's changing course untrimm'd; But thy eternal summer \
        shall not fade, Nor lose possession of that fair thou ow'st; Nor shall Death brag thou \
        wander'st in his shade, When in eternal lines to time thou grow'st: So long as men can \
        breathe or eyes can see, So long lives this, and this gives life to thee.
        """,
        """
        Let me not to the marriage of true minds Admit impediments. Love is not love Which alters when \
        it alteration finds, Or bends with the remover to remove: O no! it is an ever-fixed mark That \
        looks on tempests and is never shaken; It is the star to every wandering bark, Whose worth's \
        unknown, although his height be taken. Love's not Time's fool, though rosy lips and cheeks \
        Within his bending sickle's compass come: Love alters not with his brief hours and weeks, But \
        bears it out even to the edge of doom. If this be error and upon me proved, I never writ, nor \
        no man ever loved.
        """,
        """
        The Fox and the Grapes. A hungry Fox saw some fine bunches of Grapes hanging from a vine that \
        was trained along a high trellis, and did his best to reach them by jumping as high as he \
        could into the air. But it was all in vain, for they were just out of reach: so he gave up \
        trying, and walked away with an air of dignity and unconcern, remarking, "I thought those \
        Grapes were ripe, but I see now they are quite sour." It is easy to despise what you cannot get.
        """,
        """
        The Hare and the Tortoise. A Hare was one day making fun of a Tortoise for being so slow upon \
        his feet. "Wait a bit," said the Tortoise; "I'll run a race with you, and I'll wager that I \
        win." "Oh, well," replied the Hare, who was much amused at the idea, "let's try and see"; and \
        it was soon agreed that the fox should set a course for them, and be the judge. When the time \
        came both started off together, but the Hare was soon so far ahead that he thought he might \
        as well have a rest: so down he lay and fell fast asleep. Meanwhile the Tortoise kept plodding \
        on, and in time reached the goal. At last the Hare woke up with a start, and dashed on at his \
        fastest, but only to find that the Tortoise had already won the race. Slow and steady wins the race.
        """,
        """
        The Lion and the Mouse. A Lion asleep in his lair was waked up by a Mouse running over his \
        face. Losing his temper he seized it with his paw and was about to kill it. The Mouse, \
        terrified, piteously entreated him to spare its life. "Please let me go," it cried, "and one \
        day I will repay you for your kindness." The idea of so insignificant a creature ever being \
        able to do anything for him amused the Lion so much that he laughed aloud, and good-humouredly \
        let it go. But the Mouse's chance came, after all. One day the Lion got entangled in a net \
        which had been spread for game by some hunters, and the Mouse heard and recognised his roars \
        of anger and ran to the spot. Without more ado it set to work to nibble the ropes with its \
        teeth, and succeeded before long in setting the Lion free. "There!" said the Mouse, "you \
        laughed at me when I promised I would repay you: but now you see, even a Mouse can help a Lion."
        """,
        """
        The Ant and the Grasshopper. In a field one summer's day a Grasshopper was hopping about, \
        chirping and singing to its heart's content. An Ant passed by, bearing along with great toil \
        an ear of corn he was taking to the nest. "Why not come and chat with me," said the \
        Grasshopper, "instead of toiling and moiling in that way?" "I am helping to lay up food for \
        the winter," said the Ant, "and recommend you to do the same." "Why bother about winter?" \
        said the Grasshopper; "we have got plenty of food at present." But the Ant went on its way \
        and continued its toil. When the winter came the Grasshopper had no food, and found itself \
        dying of hunger, while it saw the ants distributing every day corn and grain from the stores \
        they had collected in the summer. Then the Grasshopper knew: it is best to prepare for the \
        days of necessity.
        """,
        """
        The North Wind and the Sun. A dispute arose between the North Wind and the Sun, each claiming \
        that he was stronger than the other. At last they agreed to try their powers upon a traveller, \
        to see which could soonest strip him of his cloak. The North Wind had the first try; and, \
        gathering up all his force for the attack, he came whirling furiously down upon the man, and \
        caught up his cloak as though he would wrest it from him by one single effort: but the harder \
        he blew, the more closely the man wrapped it round himself. Then came the turn of the Sun. At \
        first he beamed gently upon the traveller, who soon unclasped his cloak and walked on with it \
        hanging loosely about his shoulders: then he shone forth in his full strength, and the man, \
        before he had gone many steps, was glad to throw his cloak right off and complete his journey \
        more lightly clad. Persuasion is better than force.
        """,
    ]
}
